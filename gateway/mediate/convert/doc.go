// Package convert is the mediation stage's content conversion room: it
// turns a message body from one format into another (XML and JSON both
// ways, HTML form bodies to JSON and flat JSON to a form) and picks a
// response format from an Accept header. It touches nothing outside its
// inputs: every function is pure, reads only the bytes and the header
// values it is given, keeps no state between calls and starts no
// goroutines, so it is safe for concurrent use. It uses only the standard
// library and no operating system services, so it builds for the
// bare-metal (GOOS=tamago) gateway.
//
// # Formats
//
// FormatOf classifies a Content-Type: application/json and application/*+json
// are JSON; application/xml, text/xml and application/*+xml are XML;
// application/x-www-form-urlencoded is Form; multipart/form-data is
// Multipart; application/protobuf, application/x-protobuf and
// application/vnd.google.protobuf are Protobuf; anything else, or a value
// that does not parse, is Binary (passed through untouched). Negotiate picks
// among formats by an Accept header.
//
// # The XML–JSON mapping
//
// A variant of the Parker and BadgerFish conventions, chosen so that
// XMLToJSON followed by JSONToXML gives equivalent XML and JSONToXML
// followed by XMLToJSON gives back exactly the JSON it started from, for
// the subset of JSON described under Round trips.
//
//   - The document is a one-key object named after the root element:
//     <order>…</order> is {"order": …}.
//   - An element with neither attributes nor child elements is a string:
//     its text, exactly, whitespace included. <a>x</a> is {"a":"x"};
//     an empty element, <a/> or <a></a>, is {"a":""}.
//   - Any other element is an object. Its attributes come first, as keys
//     prefixed with "@", in document order: <a id="1"/> is
//     {"a":{"@id":"1"}}. Its child elements follow, one key per name in
//     order of first appearance, with the text under "#text".
//   - Repeated sibling elements of one name become an array in document
//     order: <l><i>1</i><i>2</i></l> is {"l":{"i":["1","2"]}}. A single
//     child is not an array.
//   - Text alongside attributes only is "#text", exactly:
//     <a id="1"> x </a> is {"a":{"@id":"1","#text":" x "}}. Text alongside
//     child elements (mixed content) is read as runs between tags: a run
//     that is only whitespace is indentation and dropped; the other runs
//     are concatenated, as written, into "#text", which is placed among the
//     children where its first run was: <p>Hi <b>x</b> there</p> is
//     {"p":{"#text":"Hi  there","b":"x"}}.
//   - All XML text is a JSON string: XML has no types.
//   - Names are kept as written, namespace prefix included:
//     <s:a xmlns:s="urn:x"/> is {"s:a":{"@xmlns:s":"urn:x"}}. Prefixes are
//     not resolved or checked against declarations. A name must be a
//     namespace-qualified name (NCName or NCName:NCName), so <:a/> and
//     <a:1/> are errors.
//   - Comments and processing instructions (the XML declaration included)
//     are dropped, as if absent; CDATA sections are text; character and the
//     five predefined entity references are replaced by their characters.
//
// JSONToXML is the inverse:
//
//   - An object with exactly one key that names an element, whose value is
//     not an array, is that element as the root. Any other value (an
//     object with several keys, or an "@" or "#text" key, or whose one
//     value is an array; a string, number, boolean or null) is the content
//     of an element named by the root argument ("root" when empty). A
//     top-level array is an error: its items would have no name.
//   - A string, number or boolean is an element with that text (numbers as
//     written in the JSON, booleans as true/false); "" and null are an
//     empty element, <k/>.
//   - An object is an element: its "@" keys are attributes (in the start
//     tag, wherever they are in the object; their values must be strings,
//     numbers, booleans or null, which is ""), "#text" is text and every
//     other key a child element, written in key order.
//   - An array under a key is one element per item, in order; an array
//     directly inside an array is an error. An empty array writes nothing.
//   - A key that is not a valid name, after "@" for attributes, is an
//     error, not silently changed; so is a string with a character XML
//     cannot carry (U+0000–U+001F other than tab, newline and carriage
//     return; U+FFFE; U+FFFF). A carriage return is written as &#xD; (and
//     tab and newline in attributes as &#x9; and &#xA;) so that a parser
//     keeps it.
//   - Output is compact, with no indentation (which would change "#text"),
//     after an <?xml version="1.0" encoding="UTF-8"?> declaration.
//
// # Round trips
//
// XMLToJSON output is always in the exact subset below, so for any XML x
// that converts, XMLToJSON(JSONToXML(XMLToJSON(x))) == XMLToJSON(x), and
// JSONToXML(XMLToJSON(x)) is x up to what the mapping does not keep. What
// XML → JSON loses: comments, processing instructions, the DOCTYPE (refused
// anyway), whether text was CDATA or escaped, whitespace-only text between
// child elements, the position of text among child elements (it is joined
// into one "#text"), and the interleaving of differently named siblings
// (<a/><b/><a/> comes back as <a/><a/><b/>).
//
// JSONToXML then XMLToJSON gives back the same bytes (after compacting the
// input) for a JSON object of exactly one key naming an element whose value
// is a string or an object, where every object, at any depth:
//
//   - has its "@" keys (with string values) before all other keys;
//   - is not empty and is not just {"#text": …}, which read back as "" and
//     as the text's string;
//   - has a "#text", if any, that is a non-empty string, and is not only
//     whitespace when the object also has child keys;
//   - has child values that are strings, such objects, or arrays of two or
//     more strings or such objects;
//
// and all keys are valid names. What JSON → XML loses, outside that
// subset: types (numbers and booleans come back as strings, with the same
// text; null and [] come back as "" and as no key), one-item arrays (they
// come back as the item: a one-element list and a scalar look the same in
// XML), an empty object (""), the position of "@" keys, and any top-level
// shape other than one element key (it comes back wrapped in the root
// element). Object keys must be unique: a repeated key is an error. A lone
// UTF-16 surrogate escape (\ud800) reads as U+FFFD, as in encoding/json.
//
// # Forms
//
// FormToJSON gives an object with a key per field name in order of first
// appearance; a field given once is a string, a repeated one an array of
// strings: a=1&b=x&b=y is {"a":"1","b":["x","y"]}. An urlencoded body is
// split at '&' only (';' is an ordinary character); an empty pair is
// skipped; a pair without '=' is a field with an empty value; an invalid
// escape or a value that is not UTF-8 once unescaped is an error. A
// multipart/form-data part with a filename parameter is a file:
// {"filename": …, "content_type": …, "size": N, "data": "<base64>"}, the
// content type defaulting to text/plain (RFC 7578); any other part is a
// field, whose value must be UTF-8. JSONToForm writes a flat object back:
// scalars as their text (null as an empty value), arrays of scalars as a
// repeated key; FormToJSON(JSONToForm(j)) == j for objects of strings and
// arrays of two or more strings.
//
// # Limits
//
// Every conversion is bounded by Limits: input over MaxBytes is refused
// before it is read (never truncated); nesting deeper than MaxDepth (XML
// elements, the root at 1; JSON objects and arrays, the top level at 1),
// and more than MaxNodes nodes (XML elements, attributes, text runs,
// comments and processing instructions; JSON keys and values; form fields
// and multipart parts) are errors found while streaming, before the rest
// is read. A JSON number literal longer than 100 characters is an error.
// Output is bounded to 16 × MaxBytes: a long key repeated over a long array
// would otherwise amplify. The JSON form of a document can be deeper than
// its XML form (an array adds a level), so a document at the depth limit in
// one form may be past it in the other.
//
// # Security
//
// XML input is read token by token with encoding/xml in strict mode. Any
// DOCTYPE or other markup declaration is refused (no DTDs, so no external
// entities and no entity expansion attacks), as is any entity other than
// the five predefined ones, an XML declaration naming an encoding other
// than UTF-8 or US-ASCII, a second root element, text or elements after the
// root, a repeated attribute, and invalid UTF-8. JSON input must be valid
// UTF-8 holding exactly one value. Error messages quote at most a short
// excerpt of the input.
package convert
