package app

import "testing"

func TestClientResourceResolver(t *testing.T) {
	for _, tc := range []struct{ base, in, want string }{
		{"", "/web/parley.css", "/parley.css"},
		{"", "web/icon-192.png", "/icon-192.png"},
		{"", "/web/a/b.js", "/a/b.js"},
		{"", "/web/a/", "/a"},
		{"", "/web", "/web"},
		{"", "web", "/web"},
		{"https://static.example", "/web/app.wasm", "https://static.example/app.wasm"},
		{"/files", "/web/app.wasm", "/files/app.wasm"},
		{"", "/app.js", "/app.js"},
		{"", "/manifest.webmanifest", "/manifest.webmanifest"},
		{"", "/webfonts/x.woff2", "/webfonts/x.woff2"},
		{"", "https://example.com/web/x.png", "https://example.com/web/x.png"},
		{"", "http://example.com/web/x.png", "http://example.com/web/x.png"},
		{"", "", ""},
	} {
		if got := clientResourceResolver(tc.base)(tc.in); got != tc.want {
			t.Errorf("resolver(%q)(%q) = %q, want %q", tc.base, tc.in, got, tc.want)
		}
	}
}
