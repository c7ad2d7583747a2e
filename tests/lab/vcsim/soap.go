package main

// SOAP envelopes for the answers our extension gives itself, shaped like the simulator's own
// (soapenv prefix, urn:vim25 namespace, "<Type>Fault" detail element with xsi:type).

import (
	"bytes"
	"fmt"
	"net/http"
	"reflect"

	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

const envelopeOpen = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" ` +
	`xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
	`xmlns:xsd="http://www.w3.org/2001/XMLSchema" ` +
	`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>`

const envelopeClose = `</soapenv:Body></soapenv:Envelope>`

func writeEnvelope(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(envelopeOpen))
	_, _ = w.Write(body)
	_, _ = w.Write([]byte(envelopeClose))
}

// writeResponse encodes v (a types.*Response) as <Name xmlns="urn:vim25">...</Name>.
func writeResponse(w http.ResponseWriter, name string, v interface{}) {
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	start := xml.StartElement{
		Name: xml.Name{Local: name},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"}},
	}
	if err := e.EncodeElement(v, start); err == nil {
		err = e.Flush()
	}
	writeEnvelope(w, http.StatusOK, buf.Bytes())
}

// writeFault answers a vim25 fault as vSphere does: HTTP 500, faultstring, typed detail.
func writeFault(w http.ResponseWriter, msg string, fault types.BaseMethodFault) {
	kind := reflect.TypeOf(fault).Elem().Name()
	var buf bytes.Buffer
	buf.WriteString("<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>")
	_ = xml.EscapeText(&buf, []byte(msg))
	buf.WriteString("</faultstring><detail>")
	e := xml.NewEncoder(&buf)
	start := xml.StartElement{
		Name: xml.Name{Local: kind + "Fault"},
		Attr: []xml.Attr{
			{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"},
			{Name: xml.Name{Local: "xsi:type"}, Value: kind},
		},
	}
	if err := e.EncodeElement(fault, start); err == nil {
		_ = e.Flush()
	}
	buf.WriteString("</detail></soapenv:Fault>")
	writeEnvelope(w, http.StatusInternalServerError, buf.Bytes())
}

func invalidArgument(w http.ResponseWriter, prop string) {
	writeFault(w, fmt.Sprintf("A specified parameter was not correct: %s", prop),
		&types.InvalidArgument{InvalidProperty: prop})
}

func fileFault(w http.ResponseWriter, file string) {
	writeFault(w, fmt.Sprintf("Error caused by file %s", file), &types.FileFault{File: file})
}

func notFound(w http.ResponseWriter, ref types.ManagedObjectReference) {
	writeFault(w, fmt.Sprintf("The object '%s:%s' has already been deleted or has not been completely created", ref.Type, ref.Value),
		&types.ManagedObjectNotFound{Obj: ref})
}
