package password

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// MaxLen bounds a password read by a Reader.
const MaxLen = 1024

// Reader reads passwords for the commands: from the terminal with echo
// off, or line by line from an input that is not a terminal (a pipe, a
// file: cron's `clog -as www-data < /etc/coda/auth/www-data`).
type Reader struct {
	pipe bool
	in   *bufio.Reader
}

// NewReader reads from in; pipe forces reading in even when it is a
// terminal (clog -pipe).
func NewReader(in io.Reader, pipe bool) *Reader {
	if f, ok := in.(*os.File); !ok || !IsTerminal(f) {
		pipe = true
	}
	return &Reader{pipe: pipe, in: bufio.NewReaderSize(in, MaxLen+2)}
}

// Piped reports whether passwords come from the input rather than a
// terminal.
func (r *Reader) Piped() bool { return r.pipe }

// ErrNoPassword: the input ended before a password.
var ErrNoPassword = errors.New("no password given")

// Read returns the next password; prompt is shown on the terminal only.
func (r *Reader) Read(prompt string) ([]byte, error) {
	if r.pipe {
		line, err := r.in.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return nil, errors.New("password line too long")
		case err != nil && !(errors.Is(err, io.EOF) && len(line) > 0):
			return nil, ErrNoPassword
		}
		return bytes.Clone(bytes.TrimRight(line, "\r\n")), nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("no terminal to ask for the password: %w", err)
	}
	defer tty.Close()
	fmt.Fprint(tty, prompt)
	pw, err := readNoEcho(tty)
	fmt.Fprintln(tty)
	return pw, err
}

// ReadNew reads a new password twice and checks that the two agree and
// that it is not empty.
func (r *Reader) ReadNew(what string) ([]byte, error) {
	a, err := r.Read("New password for " + what + ": ")
	if err != nil {
		return nil, err
	}
	b, err := r.Read("Retype new password: ")
	if err != nil {
		return nil, err
	}
	defer clear(b)
	if !bytes.Equal(a, b) {
		clear(a)
		return nil, errors.New("the two new passwords differ")
	}
	if len(a) == 0 {
		return nil, errors.New("empty password refused")
	}
	return a, nil
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// readNoEcho reads one line from the terminal with echo turned off.
func readNoEcho(tty *os.File) ([]byte, error) {
	fd := int(tty.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return nil, err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	line, err := bufio.NewReaderSize(tty, MaxLen+2).ReadSlice('\n')
	if err != nil && len(line) == 0 {
		return nil, ErrNoPassword
	}
	return bytes.Clone(bytes.TrimRight(line, "\r\n")), nil
}
