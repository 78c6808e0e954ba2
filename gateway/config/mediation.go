package config

// Mediation holds what the gateway does to messages: named JSON Schemas and
// protobuf descriptor sets, the response cache's bounds, and named
// policies that routes apply with Route.Mediation.
type Mediation struct {
	// Schemas are JSON Schema documents (draft 2020-12 unless a document
	// says otherwise), compiled when the configuration loads. A schema may
	// $ref another by its name or its $id; nothing is fetched.
	Schemas []SchemaDoc `yaml:"schemas,omitempty" json:"schemas"`
	// Protos are protobuf descriptor sets (protoc --include_imports
	// --descriptor_set_out), for protobuf conversion.
	Protos []ProtoSet `yaml:"protos,omitempty" json:"protos"`
	// Cache bounds the response cache shared by every route.
	Cache CacheLimits `yaml:"cache,omitempty" json:"cache"`
	// Policies are named mediation policies.
	Policies []MediationPolicy `yaml:"policies,omitempty" json:"policies"`
}

// SchemaDoc is one JSON Schema document.
type SchemaDoc struct {
	// Name identifies the schema in policies and the shell.
	Name string `yaml:"name" json:"name"`
	// Document is the schema as JSON text.
	Document string `yaml:"document" json:"document"`
}

// ProtoSet is a compiled protobuf descriptor set.
type ProtoSet struct {
	// Name identifies the set in policies.
	Name string `yaml:"name" json:"name"`
	// DescriptorSet is a serialized google.protobuf.FileDescriptorSet in
	// base64 (the image has no files to read).
	DescriptorSet string `yaml:"descriptor_set" json:"descriptor_set"`
}

// CacheLimits bound the response cache. Zero means the default.
type CacheLimits struct {
	// MaxBytes bounds the bodies and headers held (default 32 MiB).
	MaxBytes int64 `yaml:"max_bytes,omitempty" json:"max_bytes"`
	// MaxEntries bounds the number of responses held (default 10000).
	MaxEntries int `yaml:"max_entries,omitempty" json:"max_entries"`
	// MaxEntryBytes: larger responses are passed on, not stored (default 1 MiB).
	MaxEntryBytes int64 `yaml:"max_entry_bytes,omitempty" json:"max_entry_bytes"`
}

// MediationPolicy is what one route does to its messages, in this order:
// request validation, request conversion, request transforms, cache lookup;
// then, on the upstream's answer, response validation, response transforms,
// response conversion, cache store.
type MediationPolicy struct {
	Name string `yaml:"name" json:"name"`
	// Request mediates what the client sends.
	Request *MediateRequest `yaml:"request,omitempty" json:"request"`
	// Response mediates what the upstream answers.
	Response *MediateResponse `yaml:"response,omitempty" json:"response"`
	// Cache answers repeated requests from stored responses.
	Cache *RouteCache `yaml:"cache,omitempty" json:"cache"`
	// Errors replaces the body of every error the gateway generates on the
	// route.
	Errors *ErrorTemplate `yaml:"errors,omitempty" json:"errors"`
}

// MediateRequest is the request side of a policy.
type MediateRequest struct {
	// Schema names the schema the JSON request body must satisfy (after
	// conversion, when Convert is set); a failing body gets 400.
	Schema string `yaml:"schema,omitempty" json:"schema"`
	// QuerySchema names a schema the query parameters must satisfy, as an
	// object of strings (a repeated parameter is an array of strings).
	QuerySchema string `yaml:"query_schema,omitempty" json:"query_schema"`
	// ParamsSchema names a schema the route's path parameters must
	// satisfy, as an object of strings.
	ParamsSchema string `yaml:"params_schema,omitempty" json:"params_schema"`
	// MaxBodyBytes bounds a body that is validated, converted or
	// transformed, since it is read whole (default 1 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes,omitempty" json:"max_body_bytes"`
	// Convert turns the body into another format before it is forwarded.
	Convert *Convert `yaml:"convert,omitempty" json:"convert"`
	// Transforms apply in order.
	Transforms []Transform `yaml:"transforms,omitempty" json:"transforms"`
}

// MediateResponse is the response side of a policy.
type MediateResponse struct {
	// Schema names the schema a JSON 2xx response body must satisfy; a
	// failing response is replaced by a 502 and counted.
	Schema string `yaml:"schema,omitempty" json:"schema"`
	// MaxBodyBytes bounds a body that is validated, converted or
	// transformed (default 4 MiB); a larger one is a 502.
	MaxBodyBytes int64 `yaml:"max_body_bytes,omitempty" json:"max_body_bytes"`
	// Transforms apply in order.
	Transforms []Transform `yaml:"transforms,omitempty" json:"transforms"`
	// Convert turns the body into the format the client gets.
	Convert *Convert `yaml:"convert,omitempty" json:"convert"`
}

// Convert is a content conversion.
type Convert struct {
	// To is the target format: json, xml or protobuf; on responses also
	// "accept": the client's Accept header chooses among json, xml and
	// (when Message is set) protobuf. The source format is the message's
	// Content-Type (JSON, XML, form urlencoded or multipart, protobuf);
	// anything else (binary) passes through untouched.
	To string `yaml:"to" json:"to"`
	// Proto names the descriptor set of mediation.protos holding Message.
	Proto string `yaml:"proto,omitempty" json:"proto"`
	// Message is the protobuf message's full name, e.g. "shop.v1.Order".
	Message string `yaml:"message,omitempty" json:"message"`
	// XMLRoot is the root element's name when JSON becomes XML (default "root").
	XMLRoot string `yaml:"xml_root,omitempty" json:"xml_root"`
}

// Transform is one step of a transform list. Op is one of:
//
//	header.add, header.set, header.remove, header.rename (Name, To, Value)
//	query.add, query.set, query.remove, query.rename     (Name, To, Value)
//	path.rewrite                                         (Value: a template)
//	body.add, body.set, body.remove, body.rename, body.move (Name, To: JSON pointers)
//	status.set                                           (Status, When: responses only)
//
// Values are templates: {param.NAME}, {query.NAME}, {header.NAME},
// {identity.subject}, {identity.role}, {route}, {request_id}, {method},
// {path}; "{{" and "}}" are literal braces (so a json value doubles its
// braces: '{{"a":1}}'). A value that is absent makes the step unable to
// apply. Steps are compiled when the gateway starts, and a step that could
// never apply (a number that is not one, a move into itself, a path
// template that could leave the route's shape) stops it with an error.
type Transform struct {
	// Op is the operation (see above).
	Op string `yaml:"op" json:"op"`
	// Name is the header, the query parameter, or the body field as a JSON
	// pointer ("/customer/id").
	Name string `yaml:"name,omitempty" json:"name"`
	// To is the new name (rename) or the target pointer (move).
	To string `yaml:"to,omitempty" json:"to"`
	// Value is the template the operation sets or adds.
	Value string `yaml:"value,omitempty" json:"value"`
	// Type is how a body value is written: string (default), number,
	// boolean or json (the expanded value parsed as JSON).
	Type string `yaml:"type,omitempty" json:"type"`
	// Status is the status status.set writes.
	Status int `yaml:"status,omitempty" json:"status"`
	// When limits status.set to responses with this status (0: any).
	When int `yaml:"when,omitempty" json:"when"`
	// OnError is what happens when the step cannot apply (the field is
	// missing, the body is not JSON): skip (default) or fail (400 on the
	// request, 502 on the response).
	OnError string `yaml:"on_error,omitempty" json:"on_error"`
}

// RouteCache is a route's response cache policy.
type RouteCache struct {
	// TTL is how long a response is fresh when it does not say itself
	// (Cache-Control s-maxage or max-age, which win); required.
	TTL Duration `yaml:"ttl" json:"ttl"`
	// MaxTTL caps the freshness a response may claim (default: none).
	MaxTTL Duration `yaml:"max_ttl,omitempty" json:"max_ttl"`
	// StaleWhileRevalidate serves a stale entry this long past its
	// freshness while one background request refreshes it (default 0: off).
	StaleWhileRevalidate Duration `yaml:"stale_while_revalidate,omitempty" json:"stale_while_revalidate"`
	// Methods are cached (default GET and HEAD; HEAD is answered from GET).
	Methods []string `yaml:"methods,omitempty" json:"methods"`
	// Statuses are cached (default 200, 203, 204, 300, 301, 404, 410).
	Statuses []int `yaml:"statuses,omitempty" json:"statuses"`
	// Key is what tells entries apart: method, path, query, header:NAME,
	// identity (per-user caching). Default method, path, query.
	Key []string `yaml:"key,omitempty" json:"key"`
	// LockTimeout bounds how long concurrent misses wait for the one
	// request that went to the upstream before going themselves (default 5s).
	LockTimeout Duration `yaml:"lock_timeout,omitempty" json:"lock_timeout"`
}

// ErrorTemplate is a route's own error body: text with placeholders
// ${type}, ${title}, ${status}, ${detail}, ${request_id} and ${kind},
// e.g. '{"error": "${kind}", "message": "${detail}"}'. Values are escaped
// for the content type: JSON string escaping for JSON types, XML escaping
// for XML types, as they are otherwise.
type ErrorTemplate struct {
	// ContentType of the body (default application/json).
	ContentType string `yaml:"content_type,omitempty" json:"content_type"`
	// Body is the template.
	Body string `yaml:"body" json:"body"`
}
