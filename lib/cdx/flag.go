package cdx

import "strings"

// FieldsFlag is the --cdx-fields flag of the tools that read CDX lines
// into records (meguri-ingest, meguri-route balance); embed it in a
// command's flags and pass string(CDXFields) on as a layout. It lives
// here, not with the other flags in lib/cli, so that the tools that never
// parse CDX do not link the parser.
type FieldsFlag struct {
	CDXFields FieldsValue `name:"cdx-fields" placeholder:"NAME,..." help:"The fields of space-separated lines and Wayback JSON rows that come without their header row, in order, as a Wayback CDX query's fl= names them (original,timestamp,statuscode; pywb's url, mime and status too). Without it such lines are read by their field count: 7 (the Wayback server's default fields), 9 or 11 (CDX files). A legend line or header row in an input names the fields of the lines after it."`
}

// FieldsValue is a --cdx-fields value: the layout FieldsLayout makes of
// it.
type FieldsValue string

// UnmarshalText takes the field names of a Wayback query's fl=,
// comma-separated.
func (v *FieldsValue) UnmarshalText(b []byte) error {
	layout, err := FieldsLayout(strings.Split(string(b), ","))
	*v = FieldsValue(layout)
	return err
}
