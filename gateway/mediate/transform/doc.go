// Package transform is the room of the mediation layer that rewrites
// messages: a route's request or response transform list
// (mediation.policies[].request.transforms and .response.transforms) is
// compiled once, when the configuration loads, and applied to each message
// in the order it was declared.
//
// What it may touch: the Message it is given (headers, the URL's path and
// raw query, the status, the JSON body). It reads the Env and never writes
// it, keeps no state between calls, and does no I/O: a compiled List is
// immutable and safe for concurrent use. The caller reads the body (bounded)
// before Apply when NeedsBody says so, and decides what a failure costs
// (400 on requests, 502 on responses).
//
// A step that cannot apply (a header or field that is not there, a body
// that is not JSON, a value that would break the message) is skipped under
// on_error: skip, and ends Apply with a *StepError under on_error: fail. A
// template naming a value the message does not carry ({header.X-User} with
// no X-User header) makes its step unable to apply: it is skipped, or fails,
// rather than applied with an empty value.
package transform
