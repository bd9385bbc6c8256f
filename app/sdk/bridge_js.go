//go:build js && wasm

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"syscall/js"

	"parley/app/call"
	"parley/app/wire"
)

// envelope is what every method resolves to. TotalPages is set by
// getCallLogs alone: the page count goes beside data, which stays the Array of
// call logs the seed describes.
type envelope struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Data       any    `json:"data,omitempty"`
	TotalPages *int   `json:"totalPages,omitempty"`
	// RetryAfter is set on a 429 that says when to try again, in seconds.
	RetryAfter int `json:"retryAfter,omitempty"`
}

func ok(msg string, data any) envelope {
	return envelope{StatusCode: wire.CodeOK, Message: msg, Data: data}
}

func fail(err error) envelope {
	var ce *call.Error
	if errors.As(err, &ce) {
		return envelope{StatusCode: ce.Code, Message: ce.Message, RetryAfter: ce.RetryAfter}
	}
	return envelope{StatusCode: wire.CodeInternal, Message: "Something went wrong: " + err.Error()}
}

func badRequest(format string, args ...any) envelope {
	return envelope{StatusCode: wire.CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

func result(err error, msg string) envelope {
	if err != nil {
		return fail(err)
	}
	return ok(msg, nil)
}

// method is one SDK method: it runs on its own goroutine and returns what the
// promise resolves to (an envelope, or a raw value such as a string).
type method func(args []js.Value) any

// promiseFunc wraps m as a JavaScript function returning a Promise that never
// rejects for an API error.
func promiseFunc(m method) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) any {
		args = append([]js.Value(nil), args...)
		var executor js.Func
		executor = js.FuncOf(func(this js.Value, pargs []js.Value) any {
			resolve := pargs[0]
			executor.Release()
			go func() {
				var out any
				func() {
					defer func() {
						if r := recover(); r != nil {
							if a, ok := r.(argThrew); ok {
								out = badRequest("Reading an argument threw: %s", jsMessage(a.err))
								return
							}
							out = envelope{StatusCode: wire.CodeInternal, Message: fmt.Sprintf("Internal error: %v", r)}
						}
					}()
					for i, a := range args {
						if isBigInt(a) {
							out = badRequest("Argument %d is a BigInt, which Parley cannot take (JSON has no BigInt); pass a number or a string.", i+1)
							return
						}
					}
					out = m(args)
				}()
				resolve.Invoke(toJS(out))
			}()
			return nil
		})
		return js.Global().Get("Promise").New(executor)
	})
}

// isBigInt reports whether v is a BigInt primitive: syscall/js knows no such
// type, and Value.Type panics on one ("bad type flag"), so every argument is
// checked before a method looks at it.
func isBigInt(v js.Value) (yes bool) {
	defer func() {
		if recover() != nil {
			yes = false
		}
	}()
	tag := js.Global().Get("Object").Get("prototype").Get("toString").Call("call", v)
	return tag.String() == "[object BigInt]"
}

// argThrew is the panic of plainObject and plainArray when reading the
// caller's argument throws (a getter, a Proxy): promiseFunc answers it 400.
type argThrew struct{ err js.Error }

// plainObject copies the own enumerable properties of the page's object v
// into a fresh object, so that reading them later cannot throw. It must be
// used on every object argument before Get: wasm_exec.js's Get, Index and
// Length let a JavaScript exception unwind through the Go stack and crash the
// engine, while Call turns it into a recoverable panic.
func plainObject(v js.Value) js.Value {
	return callArg(js.Global().Get("Object"), "assign", js.Global().Get("Object").New(), v)
}

// plainArray copies the page's array v into a fresh array (see plainObject).
func plainArray(v js.Value) js.Value {
	return callArg(js.Global().Get("Array"), "from", v)
}

func callArg(obj js.Value, method string, args ...any) (out js.Value) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(js.Error); ok {
				panic(argThrew{e})
			}
			panic(r)
		}
	}()
	return obj.Call(method, args...)
}

// toJS converts a Go value to JavaScript through JSON, except values that are
// already JavaScript.
func toJS(v any) any {
	switch x := v.(type) {
	case js.Value:
		return x
	case string, bool, int, float64, nil:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return js.Null()
	}
	return js.Global().Get("JSON").Call("parse", string(b))
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func stringArg(args []js.Value, i int) (string, bool) {
	v := arg(args, i)
	if v.Type() != js.TypeString {
		return "", false
	}
	return v.String(), true
}

// stringList reads an array of strings (user JIDs) or explains what is wrong.
func stringList(v js.Value, what string) ([]string, *envelope) {
	if !js.Global().Get("Array").Call("isArray", v).Bool() {
		env := badRequest("%s takes an array of user JIDs.", what)
		return nil, &env
	}
	v = plainArray(v)
	out := make([]string, v.Length())
	for i := range out {
		x := v.Index(i)
		if x.Type() != js.TypeString {
			env := badRequest("%s: every user JID must be a string.", what)
			return nil, &env
		}
		out[i] = x.String()
	}
	return out, nil
}

// stringify is JSON.stringify(v), with the exception it throws (a BigInt, a
// cycle, a throwing toJSON) returned instead of panicking: those are the
// caller's bad argument, not an internal error.
func stringify(v js.Value) (out js.Value, jsErr *js.Error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(js.Error)
			if !ok {
				panic(r)
			}
			out, jsErr = js.Undefined(), &e
		}
	}()
	return js.Global().Get("JSON").Call("stringify", v), nil
}

// jsMessage is the message of a thrown JavaScript value. It reads it through
// Call (see plainObject), and never panics.
func jsMessage(e js.Error) (msg string) {
	defer func() {
		if recover() != nil {
			msg = "an exception"
		}
	}()
	if e.Value.Type() == js.TypeObject {
		if m := js.Global().Get("Reflect").Call("get", e.Value, "message"); m.Type() == js.TypeString {
			return m.String()
		}
	}
	return js.Global().Call("String", e.Value).String()
}
