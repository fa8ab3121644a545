package shop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Limits on a product's options (products.options).
const (
	MaxProductOptions = 3
	MaxOptionValues   = 100
	maxOptionText     = 50
)

// ProductOption is one of a product's options, as stored in
// products.options: a name ("Size") and the values its variants may take
// (["S", "M", "L"]).
type ProductOption struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// isJSONEmpty reports whether raw JSON stands for "no value": nothing,
// null, or an empty string.
func isJSONEmpty(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null" || string(t) == `""`
}

// ParseProductOptions reads a product's options (JSON
// [{name, values}, ...]): at most MaxProductOptions, each with a name and
// at least one value, names and values trimmed and unique. Empty JSON is
// no options. The error is a message for people.
func ParseProductOptions(raw []byte) ([]ProductOption, error) {
	if isJSONEmpty(raw) {
		return nil, nil
	}
	var opts []ProductOption
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&opts); err != nil {
		return nil, errors.New(`Must be a list of options [{"name": "Size", "values": ["S", "M"]}].`)
	}
	if len(opts) > MaxProductOptions {
		return nil, fmt.Errorf("A product can have at most %d options; this one has %d.", MaxProductOptions, len(opts))
	}
	names := map[string]bool{}
	for i := range opts {
		o := &opts[i]
		o.Name = strings.TrimSpace(o.Name)
		switch {
		case o.Name == "":
			return nil, fmt.Errorf("Option %d needs a name.", i+1)
		case len([]rune(o.Name)) > maxOptionText:
			return nil, fmt.Errorf("Option %d: the name must be at most %d characters.", i+1, maxOptionText)
		case names[strings.ToLower(o.Name)]:
			return nil, fmt.Errorf("Option %q is listed twice.", o.Name)
		case len(o.Values) == 0:
			return nil, fmt.Errorf("Option %q needs at least one value.", o.Name)
		case len(o.Values) > MaxOptionValues:
			return nil, fmt.Errorf("Option %q can have at most %d values.", o.Name, MaxOptionValues)
		}
		names[strings.ToLower(o.Name)] = true
		values := map[string]bool{}
		for j, v := range o.Values {
			v = strings.TrimSpace(v)
			switch {
			case v == "":
				return nil, fmt.Errorf("Option %q: value %d is empty.", o.Name, j+1)
			case len([]rune(v)) > maxOptionText:
				return nil, fmt.Errorf("Option %q: values must be at most %d characters.", o.Name, maxOptionText)
			case values[v]:
				return nil, fmt.Errorf("Option %q: value %q is listed twice.", o.Name, v)
			}
			values[v] = true
			o.Values[j] = v
		}
	}
	return opts, nil
}

// ParseVariantOptions reads a variant's options (a JSON object
// {"Size": "M", "Color": "Red"}); empty JSON is none. Names and values are
// trimmed.
func ParseVariantOptions(raw []byte) (map[string]string, error) {
	chosen := map[string]string{}
	if isJSONEmpty(raw) {
		return chosen, nil
	}
	var obj map[string]string
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errors.New(`Must be an object of option values, e.g. {"Size": "M"}.`)
	}
	for k, v := range obj {
		chosen[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return chosen, nil
}

// CheckVariantOptions checks a variant's chosen options against its
// product's: one value for every option the product has, each a value the
// option allows, and nothing else.
func CheckVariantOptions(product []ProductOption, chosen map[string]string) error {
	known := make(map[string]bool, len(product))
	for _, o := range product {
		known[o.Name] = true
		v, ok := chosen[o.Name]
		if !ok || v == "" {
			return fmt.Errorf("Choose a value for %q (one of %s).", o.Name, quoteList(o.Values))
		}
		if !slices.Contains(o.Values, v) {
			return fmt.Errorf("%q is not a value of %q: use one of %s.", v, o.Name, quoteList(o.Values))
		}
	}
	for name := range chosen {
		if !known[name] {
			if len(product) == 0 {
				return fmt.Errorf("The product has no options: add %q to the product's options first.", name)
			}
			return fmt.Errorf("The product has no option %q (its options: %s).", name, quoteList(optionNames(product)))
		}
	}
	return nil
}

// VariantTitle is the title a variant gets from its options, in the order
// of its product's options: "M / Red".
func VariantTitle(product []ProductOption, chosen map[string]string) string {
	parts := make([]string, 0, len(product))
	for _, o := range product {
		if v := chosen[o.Name]; v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " / ")
}

func optionNames(opts []ProductOption) []string {
	names := make([]string, len(opts))
	for i, o := range opts {
		names[i] = o.Name
	}
	return names
}

func quoteList(values []string) string {
	const show = 10
	quoted := make([]string, 0, show+1)
	for i, v := range values {
		if i == show {
			quoted = append(quoted, "…")
			break
		}
		quoted = append(quoted, fmt.Sprintf("%q", v))
	}
	return strings.Join(quoted, ", ")
}
