package proto

import (
	"errors"
	"syscall"
)

// Code is an error code on the wire. The table below is the only mapping
// between wire codes, Go errors and errnos; every layer uses it.
type Code uint16

const (
	CodeOK Code = iota
	CodeNotFound
	CodeExists
	CodeNotEmpty
	CodeCrossDevice
	CodeIsDir
	CodeNotDir
	CodeAccess
	CodeNoSpace
	CodeTimeout
	CodeInvalid
	CodeStale // the object changed or vanished; refetch
	CodeNameTooLong
	CodeNotSupported
	CodeQuota
	CodeBusy     // volume locked or object busy; retry
	CodeNoVolume // no such volume on this server
	CodeExpired  // the request's deadline passed before it was served
	CodeProtocol // malformed request
	CodeTooManyLinks
	CodePerm
	CodeIO       // an internal failure; the message says what
	CodeAuth     // login refused: unknown user or wrong password
	CodeReadOnly // a read-only object: a backup clone, an expanded conflict
	CodeConflict // a logged change meets a change made on the servers meanwhile
	codeMax
)

// Error is an error that crosses the wire: a code and a one-line message.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return codeTable[e.Code].text
}

// Is lets errors.Is match an *Error against the sentinel of its code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Code == e.Code
}

// Errno maps the error's code to the errno a file system call returns.
func (e *Error) Errno() syscall.Errno { return e.Code.Errno() }

// Sentinel errors, one per code. Compare with errors.Is.
var (
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrExists       = &Error{Code: CodeExists}
	ErrNotEmpty     = &Error{Code: CodeNotEmpty}
	ErrCrossDevice  = &Error{Code: CodeCrossDevice}
	ErrIsDir        = &Error{Code: CodeIsDir}
	ErrNotDir       = &Error{Code: CodeNotDir}
	ErrAccess       = &Error{Code: CodeAccess}
	ErrNoSpace      = &Error{Code: CodeNoSpace}
	ErrTimeout      = &Error{Code: CodeTimeout}
	ErrInvalid      = &Error{Code: CodeInvalid}
	ErrStale        = &Error{Code: CodeStale}
	ErrNameTooLong  = &Error{Code: CodeNameTooLong}
	ErrNotSupported = &Error{Code: CodeNotSupported}
	ErrQuota        = &Error{Code: CodeQuota}
	ErrBusy         = &Error{Code: CodeBusy}
	ErrNoVolume     = &Error{Code: CodeNoVolume}
	ErrExpired      = &Error{Code: CodeExpired}
	ErrProtocol     = &Error{Code: CodeProtocol}
	ErrTooManyLinks = &Error{Code: CodeTooManyLinks}
	ErrPerm         = &Error{Code: CodePerm}
	ErrIO           = &Error{Code: CodeIO}
	ErrAuth         = &Error{Code: CodeAuth}
	ErrReadOnly     = &Error{Code: CodeReadOnly}
	ErrConflict     = &Error{Code: CodeConflict}
)

var codeTable = [codeMax]struct {
	text  string
	errno syscall.Errno
}{
	CodeOK:           {"ok", 0},
	CodeNotFound:     {"no such file or directory", syscall.ENOENT},
	CodeExists:       {"file exists", syscall.EEXIST},
	CodeNotEmpty:     {"directory not empty", syscall.ENOTEMPTY},
	CodeCrossDevice:  {"cross-volume link or rename", syscall.EXDEV},
	CodeIsDir:        {"is a directory", syscall.EISDIR},
	CodeNotDir:       {"not a directory", syscall.ENOTDIR},
	CodeAccess:       {"permission denied", syscall.EACCES},
	CodeNoSpace:      {"no space left on server", syscall.ENOSPC},
	CodeTimeout:      {"server unreachable", syscall.ETIMEDOUT},
	CodeInvalid:      {"invalid argument", syscall.EINVAL},
	CodeStale:        {"stale object", syscall.ESTALE},
	CodeNameTooLong:  {"name too long", syscall.ENAMETOOLONG},
	CodeNotSupported: {"operation not supported", syscall.ENOTSUP},
	CodeQuota:        {"volume quota exceeded", syscall.EDQUOT},
	CodeBusy:         {"volume busy", syscall.EBUSY},
	CodeNoVolume:     {"no such volume", syscall.ENOENT},
	CodeExpired:      {"request deadline passed", syscall.ETIMEDOUT},
	CodeProtocol:     {"malformed request", syscall.EPROTO},
	CodeTooManyLinks: {"too many links", syscall.EMLINK},
	CodePerm:         {"operation not permitted", syscall.EPERM},
	CodeIO:           {"server error", syscall.EIO},
	CodeAuth:         {"login failed: unknown user or wrong password", syscall.EACCES},
	CodeReadOnly:     {"read-only file system", syscall.EROFS},
	CodeConflict:     {"changed on the servers meanwhile", syscall.EIO},
}

// Errno maps a code to an errno.
func (c Code) Errno() syscall.Errno {
	if c >= codeMax {
		return syscall.EIO
	}
	return codeTable[c].errno
}

// Valid reports whether c is a known code.
func (c Code) Valid() bool { return c < codeMax }

// Errorf builds an *Error with a message.
func Errorf(c Code, msg string) *Error { return &Error{Code: c, Msg: msg} }

// CodeOf returns the wire code of err: the code of an *Error in its chain,
// a code for a known errno, CodeIO otherwise.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		for c := Code(1); c < codeMax; c++ {
			if codeTable[c].errno == en && c != CodeNoVolume && c != CodeExpired && c != CodeAuth {
				return c
			}
		}
	}
	return CodeIO
}

// ToErrno maps any error to the errno a file system call returns.
func ToErrno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	return CodeOf(err).Errno()
}
