// Package httperr is the one place where the shop's errors become HTTP
// answers: it maps each shop.Error code to a status and PocketBase's error
// shape ({status, message, data: {field: {code, message}}}).
package httperr

import (
	"errors"
	"net/http"

	"pocketshop/internal/shop"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/tools/router"
)

// fieldsMessage answers field errors that carry no message of their own.
const fieldsMessage = "The request could not be completed."

// statuses maps each error code to its HTTP status. A conflict answers 400,
// as every refused order move always has (CONTRACT.md).
var statuses = map[string]int{
	shop.EINVALID:     http.StatusBadRequest,
	shop.ECONFLICT:    http.StatusBadRequest,
	shop.ENOTFOUND:    http.StatusNotFound,
	shop.ETOOLARGE:    http.StatusRequestEntityTooLarge,
	shop.EUNAVAILABLE: http.StatusServiceUnavailable,
	shop.EUPSTREAM:    http.StatusBadGateway,
	shop.EINTERNAL:    http.StatusInternalServerError,
}

// Response turns err into the API error a client sees: a shop.Error by its
// code, PocketBase's validation errors (a record save refused) as a 400
// with a message per field, an API error as it is, anything else a 500
// whose cause is only logged.
func Response(err error) *router.ApiError {
	var shopErr *shop.Error
	if errors.As(err, &shopErr) {
		return fromShop(shopErr)
	}
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		return router.NewBadRequestError(fieldsMessage, verrs)
	}
	var apiErr *router.ApiError
	if errors.As(err, &apiErr) {
		return apiErr
	}
	return router.NewInternalServerError("", err)
}

func fromShop(e *shop.Error) *router.ApiError {
	var data any = e.Cause
	msg := e.Message
	if len(e.Fields) > 0 {
		data = fieldErrors(e)
		if msg == "" {
			msg = fieldsMessage
		}
	}
	status, ok := statuses[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch status {
	case http.StatusBadRequest:
		return router.NewBadRequestError(msg, data)
	case http.StatusNotFound:
		return router.NewNotFoundError(msg, data)
	case http.StatusInternalServerError:
		return router.NewInternalServerError(msg, data)
	}
	return router.NewApiError(status, msg, data)
}

// ForRecordSave returns err, a shop.Error returned from inside a record save
// (a model hook), so that PocketBase's records API, which answers the
// failed save itself, shows its message per field: PocketBase reads them
// as validation.Errors. errors.As still finds the shop.Error.
func ForRecordSave(err error) error {
	var shopErr *shop.Error
	if !errors.As(err, &shopErr) || len(shopErr.Fields) == 0 {
		return err
	}
	return &recordSaveError{err: err, fields: fieldErrors(shopErr)}
}

type recordSaveError struct {
	err    error
	fields validation.Errors
}

func (e *recordSaveError) Error() string   { return e.err.Error() }
func (e *recordSaveError) Unwrap() []error { return []error{e.err, e.fields} }

// fieldErrors returns a shop.Error's field errors as validation.Errors,
// PocketBase's shape for them.
func fieldErrors(e *shop.Error) validation.Errors {
	verrs := make(validation.Errors, len(e.Fields))
	for name, f := range e.Fields {
		verrs[name] = validation.NewError(f.Code, f.Message)
	}
	return verrs
}
