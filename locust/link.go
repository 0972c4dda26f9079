package locust

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/vmihailenco/msgpack/v5"
)

// link is one connection to a master: the socket we send on and the socket
// a reader goroutine receives from (the same DEALER for 2.x; PUSH and PULL
// for 0.9).
//
// Ownership: the worker's loop goroutine creates, sends on and closes the
// sockets; the reader goroutine only calls Recv on its own socket and hands
// each frame (or the error that ends it) to the loop through in. So all
// decisions about the socket are made by one goroutine.
type link struct {
	send, recv zmq4.Socket
	in         chan inbound
	done       chan struct{} // closed by close(): the reader stops forwarding
}

// inbound is one received payload, or the receive error that ended the link.
type inbound struct {
	payload []byte
	err     error
}

// socketOptions are what every socket gets. zmq4's own dial retries are
// disabled: the worker paces its retries itself and must keep serving its
// loop meanwhile.
func socketOptions(log *slog.Logger, dialTimeout time.Duration, extra ...zmq4.Option) []zmq4.Option {
	return append([]zmq4.Option{
		zmq4.WithDialerMaxRetries(0),
		zmq4.WithDialerTimeout(dialTimeout),
		zmq4.WithLogger(slog.NewLogLogger(log.Handler(), slog.LevelDebug)),
	}, extra...)
}

func endpoint(host string, port int) string {
	return "tcp://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// dialDealer connects a 2.x DEALER with the given identity. The socket's
// life is not tied to the run's context: after cancellation we still send
// the final stats and quit.
func dialDealer(host string, port int, id string, timeout time.Duration, log *slog.Logger) (*link, error) {
	s := zmq4.NewDealer(context.Background(), socketOptions(log, timeout, zmq4.WithID(zmq4.SocketIdentity(id)))...)
	if err := s.Dial(endpoint(host, port)); err != nil {
		s.Close()
		return nil, err
	}
	return startLink(s, s), nil
}

// dialPushPull connects a 0.9 PUSH to port and PULL to port+1.
func dialPushPull(host string, port int, timeout time.Duration, log *slog.Logger) (*link, error) {
	push := zmq4.NewPush(context.Background(), socketOptions(log, timeout)...)
	if err := push.Dial(endpoint(host, port)); err != nil {
		push.Close()
		return nil, err
	}
	pull := zmq4.NewPull(context.Background(), socketOptions(log, timeout)...)
	if err := pull.Dial(endpoint(host, port+1)); err != nil {
		push.Close()
		pull.Close()
		return nil, err
	}
	return startLink(push, pull), nil
}

func startLink(send, recv zmq4.Socket) *link {
	l := &link{send: send, recv: recv, in: make(chan inbound), done: make(chan struct{})}
	go l.read()
	return l
}

func (l *link) read() {
	for {
		msg, err := l.recv.Recv()
		var ev inbound
		switch {
		case err != nil:
			ev.err = err
		case msg.Type == zmq4.CmdMsg:
			continue // ZMTP command, not a Locust message
		case len(msg.Frames) == 0:
			ev.payload = nil // decoded (and rejected) by the loop
		default:
			ev.payload = msg.Frames[0] // a DEALER/PULL gets [payload]; extra frames ignored, as Locust does
		}
		select {
		case l.in <- ev:
		case <-l.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// write sends one frame. zmq4 writes synchronously to the TCP connection;
// when that connection is already gone it may return nil and drop the frame,
// so loss is detected on the receive side (see link.read).
func (l *link) write(payload []byte) error {
	if err := l.send.Send(zmq4.NewMsg(payload)); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

func (l *link) close() {
	close(l.done)
	err := l.send.Close()
	if l.recv != l.send {
		err = errors.Join(err, l.recv.Close())
	}
	_ = err // closing a broken connection reports the breakage again; nothing to do
}

// session is the connection state both workers share: who we are, the
// current link (nil while disconnected) and the first send error since the
// loop last looked.
type session struct {
	id      string // node_id (and the 2.x ZMQ identity)
	log     *slog.Logger
	link    *link
	sendErr error

	deferred []message     // spawns/hatches received while stopping
	exGate   exceptionGate // rate limit of exception messages
}

// send encodes and sends one message. A failure is kept in sendErr for the
// loop to handle once the current event is done (handling it here would
// re-enter the state machine mid-transition).
func (s *session) send(typ string, data func(*msgpack.Encoder) error) {
	if s.link == nil {
		s.log.Debug("not connected; dropping message", "type", typ)
		return
	}
	b, err := encodeMessage(typ, s.id, data)
	if err == nil {
		err = s.link.write(b)
	}
	if err != nil {
		s.log.Warn("could not send to master", "type", typ, "err", err)
		if s.sendErr == nil {
			s.sendErr = err
		}
	}
}

// takeSendErr returns and clears the pending send error.
func (s *session) takeSendErr() error {
	err := s.sendErr
	s.sendErr = nil
	return err
}

func (s *session) disconnect() {
	if s.link != nil {
		s.link.close()
		s.link = nil
	}
}

// inbox is the channel of received messages; nil (never ready) while
// disconnected.
func (s *session) inbox() <-chan inbound {
	if s.link == nil {
		return nil
	}
	return s.link.in
}
