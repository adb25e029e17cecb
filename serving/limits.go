package serving

import (
	"net/http"
	"time"

	"github.com/spf13/pflag"
)

// Limits bound what one client can hold of the server: how long it may take to send a request's
// header and the whole request, how long a request may take to be answered, how long an idle
// keep-alive connection stays open, and how large a request header may be. The body's bound is
// Config.MaxBodyBytes. A zero field takes its default.
//
// Without them a client that sends part of a request and stops holds a connection and a
// goroutine until it goes away: 300 half-sent request bodies kept `rai serve` connections open
// for longer than 90 seconds.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's header, from the first byte of the request
	// (or of the connection) on.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, header and body.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its header to the end of its answer: reading
	// the body, inference and writing the response.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection waits for its next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and header; a larger one is answered 431.
	MaxHeaderBytes int
}

// The defaults of Limits. A request body of Config.MaxBodyBytes (16 MiB) is read well within
// ReadTimeout on a cluster network; an inference of a full batch well within WriteTimeout.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
)

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	set := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	set(&l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	set(&l.ReadTimeout, DefaultReadTimeout)
	set(&l.WriteTimeout, DefaultWriteTimeout)
	set(&l.IdleTimeout, DefaultIdleTimeout)
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// httpServer returns the http.Server that serves h within l.
func (l Limits) httpServer(h http.Handler) *http.Server {
	l = l.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// BindFlags registers l's fields as flags of `rai serve`, with the defaults.
func (l *Limits) BindFlags(f *pflag.FlagSet) {
	f.DurationVar(&l.ReadHeaderTimeout, "read-header-timeout", DefaultReadHeaderTimeout, "longest a client may take to send a request's header; the connection is closed after it")
	f.DurationVar(&l.ReadTimeout, "read-timeout", DefaultReadTimeout, "longest a client may take to send a whole request, header and body")
	f.DurationVar(&l.WriteTimeout, "write-timeout", DefaultWriteTimeout, "longest a request may take from the end of its header to the end of its answer (body, inference, response)")
	f.DurationVar(&l.IdleTimeout, "idle-timeout", DefaultIdleTimeout, "longest a keep-alive connection waits for its next request")
	f.IntVar(&l.MaxHeaderBytes, "max-header-bytes", DefaultMaxHeaderBytes, "largest request line and header accepted (larger gets 431)")
}
