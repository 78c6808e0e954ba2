package convert

import (
	"fmt"
	"strings"
	"testing"
)

// benchXML is a ~2 KB order document: attributes, repeated items, text.
var benchXML = func() []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<order id="A-1042" xmlns:p="urn:example:pricing" created="2024-05-01T10:00:00Z">` + "\n")
	b.WriteString("  <customer><name>Ada Lovelace</name><email>ada@example.com</email></customer>\n")
	for i := 0; i < 14; i++ {
		fmt.Fprintf(&b, `  <item sku="SKU-%04d" qty="%d"><title>Widget &amp; gadget no. %d</title><p:price currency="EUR">%d.99</p:price></item>`+"\n", i, i%5+1, i, 10+i)
	}
	b.WriteString("  <note>Leave at the door, please.</note>\n</order>\n")
	return []byte(b.String())
}()

func BenchmarkXMLToJSON(b *testing.B) {
	b.SetBytes(int64(len(benchXML)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := XMLToJSON(benchXML, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONToXML(b *testing.B) {
	j, err := XMLToJSON(benchXML, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(j)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := JSONToXML(j, "", Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFormToJSON(b *testing.B) {
	var s strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&s, "field%d=value+%d%%20x&", i%40, i)
	}
	form := []byte(s.String())
	b.SetBytes(int64(len(form)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FormToJSON(form, urlencoded, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
