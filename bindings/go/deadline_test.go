//go:build vsync_testing

package vsync

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The deadline rule (docs/deadlines.md), driven in both orders without relying on which
// timer the scheduler runs first: a context whose timer the test fires by hand decides the
// order, and servers that accept and never answer keep a call waiting until a deadline ends it.

// holding is a local TCP server that accepts connections and never answers. Each accepted
// connection is announced on accepted, so a test acts once a call is provably waiting.
type holding struct {
	endpoint string
	accepted chan struct{}
	release  func() // closes the listener (later connections are refused) and every held connection
}

func holdingServer(t *testing.T) *holding {
	t.Helper()
	h := &holding{accepted: make(chan struct{}, 64)}
	h.endpoint, h.release = trackedServer(t, func(net.Conn, func(net.Conn)) { announce(h.accepted) })
	return h
}

// freezableProxy forwards TCP to target until frozen; then it holds new connections unanswered
// and announces each on held. release closes the listener and every connection.
type freezable struct {
	endpoint string
	freeze   func()
	held     chan struct{}
	release  func()
}

func freezableProxy(t *testing.T, target string) *freezable {
	t.Helper()
	p := &freezable{held: make(chan struct{}, 64)}
	var frozen sync.Once
	freeze := make(chan struct{})
	p.freeze = func() { frozen.Do(func() { close(freeze) }) }
	p.endpoint, p.release = trackedServer(t, func(c net.Conn, track func(net.Conn)) {
		select {
		case <-freeze:
			announce(p.held) // hold it, never answer
			return
		default:
		}
		u, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			return
		}
		track(u)
		go func() { _, _ = io.Copy(u, c) }()
		go func() { _, _ = io.Copy(c, u) }()
	})
	return p
}

// trackedServer listens on 127.0.0.1 and hands each connection it accepts, once recorded, to
// serve (on the accept loop), with track to record more (a proxy's upstream). release (also run
// at the test's cleanup, at most once) closes the listener, so later connections are refused,
// and every recorded connection.
func trackedServer(t *testing.T, serve func(c net.Conn, track func(net.Conn))) (endpoint string, release func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) { mu.Lock(); conns = append(conns, c); mu.Unlock() }
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			track(c)
			serve(c, track)
		}
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			l.Close()
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
		})
	}
	t.Cleanup(release)
	return "http://" + l.Addr().String(), release
}

// announce signals on ch without blocking (a full channel drops the signal).
func announce(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// refusingEndpoint is an address whose connections are refused: a bound socket that does not
// listen. Holding it bound keeps another process from taking the port during the test.
func refusingEndpoint(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	must(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	must(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := syscall.Getsockname(fd)
	must(t, err)
	return "http://127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
}

// drain empties an announcement channel, so that the next receive is about the next call.
func drain(c chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// manualCtx has a fixed deadline but its own timer never runs: the test fires it with fire(),
// so the order of the native deadline and ctx's timer is the test's choice.
type manualCtx struct {
	deadline time.Time
	done     chan struct{}
	mu       sync.Mutex
	err      error
}

func newManualCtx(in time.Duration) *manualCtx {
	return &manualCtx{deadline: time.Now().Add(in), done: make(chan struct{})}
}

func (c *manualCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *manualCtx) Done() <-chan struct{}       { return c.done }
func (c *manualCtx) Value(any) any               { return nil }

func (c *manualCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *manualCtx) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = context.DeadlineExceeded
		close(c.done)
	}
}

// wantCtxBound: the class is S3Unreachable and ctx's error is wrapped too.
func wantCtxBound(t *testing.T, err, ctxErr error) {
	t.Helper()
	if !errors.Is(err, ErrS3Unreachable) || !errors.Is(err, ctxErr) || className(err) != "S3UnreachableError" {
		t.Fatalf("want S3Unreachable wrapping %v, got %v", ctxErr, err)
	}
}

// wantOwnTimeout: S3Unreachable from the library's own deadline, no context error.
func wantOwnTimeout(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrS3Unreachable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Fatalf("want S3Unreachable without a context error, got %v", err)
	}
}

// A call whose native deadline came from ctx: the same error whichever timer fires first.
func TestDeadlineRuleOpen(t *testing.T) {
	s := testServer(t)
	silent := holdingServer(t)
	config := s.token(t, uniquePrefix(t), "", silent.endpoint)
	opens := map[string]func(ctx context.Context, opts ...Option) error{
		"Open": func(ctx context.Context, opts ...Option) error {
			env := mapLookup(map[string]string{"VSYNC_CONFIG": config, "VSYNC_PASSPHRASE": testPassphrase})
			_, err := Open(ctx, append(opts, WithEnvLookup(env))...)
			return err
		},
		"OpenWith": func(ctx context.Context, opts ...Option) error {
			_, err := OpenWith(ctx, config, testPassphrase, opts...)
			return err
		},
	}
	for name, open := range opens {
		call := func(ctx context.Context) error { return open(ctx) }
		t.Run(name+"/native deadline first", func(t *testing.T) { nativeDeadlineFirst(t, call) })
		t.Run(name+"/ctx timer first", func(t *testing.T) { ctxTimerFirst(t, silent.accepted, call) })
		t.Run(name+"/own timeout first", func(t *testing.T) {
			// WithTimeout is the sooner bound: its expiry is not ctx's, so no context error.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := open(ctx, WithTimeout(300*time.Millisecond))
			wantOwnTimeout(t, err)
			if ctx.Err() != nil {
				t.Fatal("ctx ended")
			}
		})
	}
}

// nativeDeadlineFirst: ctx's timer never runs by itself, so the native deadline (ctx's, rounded
// up) ends the call, and the error is ctx's.
func nativeDeadlineFirst(t *testing.T, call func(ctx context.Context) error) {
	t.Helper()
	ctx := newManualCtx(300 * time.Millisecond)
	err := call(ctx)
	if ctx.Err() != nil {
		t.Fatal("the test's order broke: ctx fired first")
	}
	wantCtxBound(t, err, context.DeadlineExceeded)
}

// ctxTimerFirst: the native deadline is a minute away; ctx fires once the call is waiting on the
// server (announced on waiting), and the call returns ctx's error.
func ctxTimerFirst(t *testing.T, waiting chan struct{}, call func(ctx context.Context) error) {
	t.Helper()
	ctx := newManualCtx(time.Minute)
	errc := make(chan error, 1)
	drain(waiting)
	go func() { errc <- call(ctx) }()
	<-waiting
	ctx.fire()
	select {
	case err := <-errc:
		wantCtxBound(t, err, context.DeadlineExceeded)
	case <-time.After(30 * time.Second): // half the native deadline: it did not wait for it
		t.Fatal("the call did not return when ctx fired")
	}
}

func TestDeadlineRuleRemoteCalls(t *testing.T) {
	s := testServer(t)
	proxy := freezableProxy(t, strings.TrimPrefix(s.endpoint, "http://"))
	prefix := uniquePrefix(t)
	salt := "go-deadline-salt-" + prefix[3:19] // one salt for the writer's and the reader's token
	if out := s.push(t, s.token(t, prefix, "", "", "--salt", salt), testPassphrase, sampleEnv, nil); !strings.HasPrefix(out, "pushed gen=1 ") {
		t.Fatalf("push printed %q", out)
	}
	reader := s.token(t, prefix, "", proxy.endpoint, "--salt", salt)
	// Two handles: one whose own timeout (3 s) is sooner than the contexts' minute, one whose own
	// timeout (a minute) leaves ctx to end the call.
	short, err := OpenWith(context.Background(), reader, testPassphrase, WithTimeout(3*time.Second))
	must(t, err)
	defer short.Close()
	long, err := OpenWith(context.Background(), reader, testPassphrase, WithTimeout(time.Minute))
	must(t, err)
	defer long.Close()
	if g, err := short.RemoteGeneration(context.Background()); err != nil || g != 1 {
		t.Fatalf("remote generation through the proxy: %d, %v", g, err)
	}
	proxy.freeze()
	calls := map[string]func(v *Vsync, ctx context.Context) error{
		"RemoteGeneration": func(v *Vsync, ctx context.Context) error { _, err := v.RemoteGeneration(ctx); return err },
		"HasNewVersion":    func(v *Vsync, ctx context.Context) error { _, err := v.HasNewVersion(ctx); return err },
	}
	for name, call := range calls {
		onLong := func(ctx context.Context) error { return call(long, ctx) }
		t.Run(name+"/native deadline first", func(t *testing.T) { nativeDeadlineFirst(t, onLong) })
		t.Run(name+"/ctx timer first", func(t *testing.T) { ctxTimerFirst(t, proxy.held, onLong) })
		t.Run(name+"/own timeout first", func(t *testing.T) {
			// The handle's 3 s is sooner than ctx's minute: a later ctx deadline does not extend it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			err := call(short, ctx)
			wantOwnTimeout(t, err)
			if !strings.Contains(err.Error(), "within 3s") {
				t.Fatalf("not the handle's timeout: %v", err)
			}
			if d := time.Since(start); d > 30*time.Second { // half of ctx's minute
				t.Fatalf("ctx's later deadline extended the call to %v", d)
			}
		})
		t.Run(name+"/real timers", func(t *testing.T) {
			// The race of issue 15, with real timers: both orders happen; the answer is always one.
			for i := 0; i < 5; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				err := call(long, ctx)
				cancel()
				wantCtxBound(t, err, context.DeadlineExceeded)
			}
		})
	}
}

// A remote call abandoned by its ctx returns at once; Close does not wait for it, and the
// native handle is freed when the abandoned call finishes.
func TestRemoteCallContextAndCloseInFlight(t *testing.T) {
	s := testServer(t)
	proxy := freezableProxy(t, strings.TrimPrefix(s.endpoint, "http://"))
	prefix := uniquePrefix(t)
	salt := "go-proxy-salt-" + prefix[3:19] // the same salt for the writer's and the reader's token
	writer := s.token(t, prefix, "", "", "--salt", salt)
	if out := s.push(t, writer, testPassphrase, sampleEnv, nil); !strings.HasPrefix(out, "pushed gen=1 ") {
		t.Fatalf("push printed %q", out)
	}
	reader := s.token(t, prefix, "", proxy.endpoint, "--salt", salt)
	// A minute of native deadline: only the proxy's release (below) ends the abandoned call.
	v, err := OpenWith(context.Background(), reader, testPassphrase, WithTimeout(time.Minute))
	must(t, err)
	if g, err := v.RemoteGeneration(context.Background()); err != nil || g != 1 {
		t.Fatalf("remote generation through the proxy: %d, %v", g, err)
	}
	proxy.freeze()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := v.HasNewVersion(ctx); errc <- err }()
	<-proxy.held // the call is waiting on the proxy
	cancel()
	wantCtxBound(t, <-errc, context.Canceled)

	closed := make(chan error, 1)
	go func() { closed <- v.Close() }()
	select {
	case err := <-closed:
		must(t, err)
	case <-time.After(30 * time.Second): // the abandoned call has a minute left: Close must not wait for it
		t.Fatal("Close waited for the abandoned call")
	}
	if got, ok := v.GetEnv("DATABASE_URL"); ok || got != "" {
		t.Fatal("value after Close")
	}
	// The proxy still holds the abandoned call's connection, so it is in flight for sure.
	if v.state.Load()&freedBit != 0 {
		t.Fatal("freed while a call was still in flight")
	}
	proxy.release() // the held connection closes, a retry is refused: the call ends now
	deadline := time.Now().Add(30 * time.Second)
	for v.state.Load() != closedBit|freedBit {
		if time.Now().After(deadline) {
			t.Fatalf("the handle was not freed after the abandoned call ended (state %x)", v.state.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
