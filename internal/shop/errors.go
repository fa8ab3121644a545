package shop

import (
	"errors"
	"fmt"
)

// Error codes: what kind of failure an Error is. The HTTP layer
// (hooks/httperr) maps each to a status; the rest of the shop only names
// the code.
const (
	EINVALID     = "invalid"     // bad input or a move the order's state refuses
	ECONFLICT    = "conflict"    // the stored state changed under the caller (a racing writer)
	ENOTFOUND    = "not_found"   // no such record, or not the caller's
	ETOOLARGE    = "too_large"   // a body over its limit
	EUNAVAILABLE = "unavailable" // not configured, or not possible yet: try again later
	EUPSTREAM    = "upstream"    // the payment provider failed or could not be reached
	EINTERNAL    = "internal"    // a bug or a database failure
)

// Error is the shop's error: a code, a message for people and, for bad
// input, a message per field. Cause, when set, is kept for the logs.
type Error struct {
	Code    string
	Message string
	Fields  map[string]FieldError
	Cause   error
}

// FieldError is one field's problem: a stable code and a message.
type FieldError struct {
	Code    string
	Message string
}

// Errorf returns an Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErr returns an Error whose only field error is field's.
func FieldErr(code, field, fieldCode, message string) *Error {
	return &Error{Code: code, Fields: map[string]FieldError{field: {Code: fieldCode, Message: message}}}
}

// Invalid returns an EINVALID error with message and one error per field
// of fieldErrs, coded "validation_invalid_<field>".
func Invalid(message string, fieldErrs FieldErrors) *Error {
	fields := make(map[string]FieldError, len(fieldErrs))
	for name, msg := range fieldErrs {
		fields[name] = FieldError{Code: "validation_invalid_" + name, Message: msg}
	}
	return &Error{Code: EINVALID, Message: message, Fields: fields}
}

func (e *Error) Error() string {
	msg := e.Message
	for name, f := range e.Fields {
		msg += fmt.Sprintf(" %s: %s", name, f.Message)
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return e.Code + ": " + msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// ErrorCode returns the code of the first Error in err's chain, EINTERNAL
// for any other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}
