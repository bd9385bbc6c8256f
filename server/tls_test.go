package main

import (
	"slices"
	"testing"

	"parley/server/tlsserve"
)

func TestParseTLSConfig(t *testing.T) {
	le := tlsserve.LetsEncrypt
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    tlsSettings
		wantErr string
	}{
		{name: "off by default", want: tlsSettings{mode: tlsOff, acmeDirectory: le}},
		{name: "explicit off", args: []string{"-tls", "off"}, want: tlsSettings{mode: tlsOff, acmeDirectory: le}},
		{
			name: "files from the environment",
			env:  map[string]string{"PARLEY_TLS_CERT": "/etc/c.pem", "PARLEY_TLS_KEY": "/etc/k.pem", "PARLEY_HTTP_ADDR": ":80"},
			want: tlsSettings{mode: tlsFiles, certFile: "/etc/c.pem", keyFile: "/etc/k.pem", acmeDirectory: le, httpAddr: ":80"},
		},
		{
			name: "flags override the environment",
			args: []string{"-tls-cert", "a.pem", "-tls-key", "b.pem"},
			env:  map[string]string{"PARLEY_TLS_CERT": "/etc/c.pem", "PARLEY_TLS_KEY": "/etc/k.pem"},
			want: tlsSettings{mode: tlsFiles, certFile: "a.pem", keyFile: "b.pem", acmeDirectory: le},
		},
		{
			name: "acme",
			env: map[string]string{"PARLEY_ACME_DOMAIN": "chat.example.org, meet.example.org,", "PARLEY_ACME_EMAIL": "ops@example.org",
				"PARLEY_ACME_DIRECTORY": "https://acme.test/dir", "PARLEY_ACME_CA": "/etc/ca.pem"},
			args: []string{"-http-addr", ":80"},
			want: tlsSettings{mode: tlsACME, acmeDomains: []string{"chat.example.org", "meet.example.org"}, acmeEmail: "ops@example.org",
				acmeDirectory: "https://acme.test/dir", acmeCA: "/etc/ca.pem", httpAddr: ":80"},
		},
		{
			name: "self-signed",
			env:  map[string]string{"PARLEY_TLS": "self-signed", "PARLEY_TLS_NAMES": "parley.lan,10.0.0.2"},
			want: tlsSettings{mode: tlsSelfSigned, names: []string{"parley.lan", "10.0.0.2"}, acmeDirectory: le},
		},
		{name: "unknown mode", args: []string{"-tls", "on"}, wantErr: "-tls"},
		{name: "cert without key", args: []string{"-tls-cert", "c.pem"}, wantErr: "go together"},
		{name: "key without cert", env: map[string]string{"PARLEY_TLS_KEY": "k.pem"}, wantErr: "go together"},
		{name: "cert and acme", args: []string{"-tls-cert", "c", "-tls-key", "k", "-acme-domain", "a.example"}, wantErr: "exclude"},
		{name: "self-signed and cert", args: []string{"-tls", "self-signed", "-tls-cert", "c", "-tls-key", "k"}, wantErr: "excludes"},
		{name: "off and acme", env: map[string]string{"PARLEY_TLS": "off"}, args: []string{"-acme-domain", "a.example"}, wantErr: "excludes"},
		{name: "acme email alone", args: []string{"-acme-email", "a@b.example"}, wantErr: "need -acme-domain"},
		{name: "acme directory alone", args: []string{"-acme-directory", "https://x.test/dir"}, wantErr: "need -acme-domain"},
		{name: "names without self-signed", args: []string{"-tls-names", "a.lan"}, wantErr: "-tls-names"},
		{name: "http-addr without tls", args: []string{"-http-addr", ":80"}, wantErr: "-http-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseCase(t, tc.args, tc.env, tc.wantErr)
			if !ok {
				return
			}
			g, w := got.tls, tc.want
			if g.mode != w.mode || g.certFile != w.certFile || g.keyFile != w.keyFile || !slices.Equal(g.acmeDomains, w.acmeDomains) ||
				g.acmeEmail != w.acmeEmail || g.acmeDirectory != w.acmeDirectory || g.acmeCA != w.acmeCA ||
				!slices.Equal(g.names, w.names) || g.httpAddr != w.httpAddr {
				t.Errorf("tls = %+v\nwant  %+v", g, w)
			}
		})
	}
}
