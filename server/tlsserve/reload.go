package tlsserve

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultReloadInterval is how often a FilePair looks at its files at most.
const DefaultReloadInterval = 3 * time.Second

// FilePair serves a certificate and key read from PEM files and reloads them
// when either file changes on disk (its modification time or size), so that
// a certificate renewed under a running server is picked up without a
// restart. The files are looked at, at most once per interval, by the TLS
// handshakes themselves: no goroutine, nothing to stop. When the new files
// do not make a valid pair (a renewal tool that has written the certificate
// but not yet the key, say) the old pair stays in use, the failure is logged
// once, and the files are tried again when they change again.
type FilePair struct {
	certFile, keyFile string
	interval          time.Duration
	logger            *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	seen    [2]fileStamp // the stamps last looked at (loaded, or failed to)
	checked time.Time
}

// fileStamp is what tells a changed file: its modification time and size.
type fileStamp struct {
	mod  time.Time
	size int64
}

// NewFilePair loads the pair and returns a FilePair that reloads it when
// the files change, looking at most once per interval (interval <= 0 means
// at every handshake). The first load must succeed.
func NewFilePair(certFile, keyFile string, interval time.Duration, logger *slog.Logger) (*FilePair, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &FilePair{certFile: certFile, keyFile: keyFile, interval: interval, logger: logger, now: time.Now}
	stamps, err := p.stamps()
	if err != nil {
		return nil, err
	}
	cert, err := p.load()
	if err != nil {
		return nil, err
	}
	p.cert, p.seen, p.checked = cert, stamps, p.now()
	return p, nil
}

// stamps stats both files.
func (p *FilePair) stamps() ([2]fileStamp, error) {
	var s [2]fileStamp
	for i, name := range []string{p.certFile, p.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return s, fmt.Errorf("tls: certificate files: %w", err)
		}
		s[i] = fileStamp{mod: fi.ModTime(), size: fi.Size()}
	}
	return s, nil
}

// load reads and parses the pair.
func (p *FilePair) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", p.certFile, p.keyFile, err)
	}
	return &cert, nil
}

// Certificate returns the pair in use, reloading it first when the files
// changed since they were last looked at.
func (p *FilePair) Certificate() *tls.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.interval > 0 && now.Sub(p.checked) < p.interval {
		return p.cert
	}
	p.checked = now
	stamps, err := p.stamps()
	if err != nil {
		if stamps != p.seen {
			p.logger.Error("tls: keeping the certificate in use", "err", err)
			p.seen = stamps
		}
		return p.cert
	}
	if stamps == p.seen {
		return p.cert
	}
	p.seen = stamps
	cert, err := p.load()
	if err != nil {
		p.logger.Error("tls: changed certificate files do not load; keeping the certificate in use", "err", err)
		return p.cert
	}
	p.cert = cert
	leaf := cert.Leaf
	p.logger.Info("tls: reloaded certificate", "cert", p.certFile, "subject", leaf.Subject.String(),
		"not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	return p.cert
}

// GetCertificate is a tls.Config.GetCertificate hook serving the pair.
func (p *FilePair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return p.Certificate(), nil
}
