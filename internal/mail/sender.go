package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLSMode says how the connection to the SMTP server is encrypted.
type TLSMode int

const (
	// TLSStartTLS upgrades the connection with STARTTLS when the server
	// offers it (PocketBase's behaviour with "Use TLS" off).
	TLSStartTLS TLSMode = iota
	// TLSImplicit connects with TLS from the start, usually on port 465
	// (PocketBase's "Use TLS" on).
	TLSImplicit
	// TLSMandatoryStartTLS requires STARTTLS and fails without it.
	TLSMandatoryStartTLS
)

// DefaultTimeout bounds each step of an SMTP conversation when Config sets
// no Timeout.
const DefaultTimeout = 30 * time.Second

// Config is what the sender needs to reach an SMTP server.
type Config struct {
	Host     string
	Port     int
	Username string // no authentication when Username and Password are empty
	Password string
	// AuthMethod is "PLAIN" (the default) or "LOGIN".
	AuthMethod string
	TLS        TLSMode
	// LocalName is the name the sender gives in HELO/EHLO (optional).
	LocalName   string
	FromAddress string
	FromName    string
	// Timeout bounds each network step (connect, each command, the data).
	Timeout time.Duration
}

// Sender sends rendered messages over SMTP, one connection per message.
type Sender struct {
	client *gomail.Client
	cfg    Config
}

// NewSender checks cfg and returns a sender for it. It does not connect.
func NewSender(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("SMTP host is empty")
	}
	if cfg.FromAddress == "" {
		return nil, errors.New("sender address is empty")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout)}
	if cfg.Port > 0 {
		opts = append(opts, gomail.WithPort(cfg.Port))
	}
	switch cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSMandatoryStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if cfg.LocalName != "" {
		opts = append(opts, gomail.WithHELO(cfg.LocalName))
	}
	if cfg.Username != "" || cfg.Password != "" {
		auth := gomail.SMTPAuthPlain
		if cfg.AuthMethod == "LOGIN" {
			auth = gomail.SMTPAuthLogin
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP client for %s: %w", cfg.Host, err)
	}
	return &Sender{client: client, cfg: cfg}, nil
}

// Send delivers m to one recipient. A failure that retrying cannot fix (the
// server refused the recipient or the message, or the address is malformed)
// is a *PermanentError; any other error (connection, TLS, authentication, a
// 4xx answer) may pass and is worth retrying.
func (s *Sender) Send(ctx context.Context, to string, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.To(to); err != nil {
		return &PermanentError{Err: fmt.Errorf("recipient %q: %w", to, err)}
	}
	var err error
	if s.cfg.FromName != "" {
		err = msg.FromFormat(s.cfg.FromName, s.cfg.FromAddress)
	} else {
		err = msg.From(s.cfg.FromAddress)
	}
	if err != nil {
		return fmt.Errorf("sender address %q: %w", s.cfg.FromAddress, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID)
	} else {
		msg.SetMessageID()
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)

	if err := s.client.DialAndSendWithContext(ctx, msg); err != nil {
		if isPermanent(err) {
			return &PermanentError{Err: err}
		}
		return err
	}
	return nil
}

// PermanentError is a failure that sending again will not fix.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err says that sending again will not help.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// isPermanent classifies go-mail's errors: a 5xx answer to RCPT TO or to
// the message itself concerns this message only. A refused MAIL FROM, a
// failed connection or login concern the server or its settings: they
// block every message alike, so they are retried until the owner fixes them.
func isPermanent(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() {
		return false
	}
	switch se.Reason {
	case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose, gomail.ErrGetRcpts:
		return true
	}
	return false
}
