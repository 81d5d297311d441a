package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/setora/rest/shared/apierr"
)

// MIMEMergePatch is the media type of a JSON merge patch (RFC 7396).
const MIMEMergePatch = "application/merge-patch+json"

// Patch is the part of a PATCH body that the decoded fields cannot show.
type Patch struct {
	// Nulls names the top-level members set to null, in the order the body lists them.
	Nulls []string
}

// DecodePatch reads a PATCH body sent as application/merge-patch+json or application/json into
// dst; both media types get the same merge-patch rules. It rejects other media types (415),
// unknown fields and trailing data (400) like DecodeJSON. A member set to null usually decodes
// like a missing one, so the caller checks Nulls to tell the two apart.
func DecodePatch(c *fiber.Ctx, dst any) (Patch, error) {
	if mt := mediaType(c); mt != MIMEMergePatch && mt != fiber.MIMEApplicationJSON {
		return Patch{}, apierr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "",
			"send the changes as a JSON merge patch with Content-Type: application/merge-patch+json or application/json")
	}
	body := c.Body()
	if err := decodeBody(body, dst); err != nil {
		return Patch{}, err
	}
	nulls, ok := nullMembers(body)
	if !ok {
		// A merge patch that is not an object would replace the whole resource.
		return Patch{}, apierr.New(http.StatusBadRequest, "malformed_json", "",
			"the body must be a JSON object holding only the fields to change")
	}
	return Patch{Nulls: nulls}, nil
}

// RejectNulls returns a 400 naming the first member set to null that is not in clearable. The
// other fields of a resource always have a value, so null cannot remove them.
func (p Patch) RejectNulls(clearable ...string) error {
	for _, name := range p.Nulls {
		if !slices.Contains(clearable, name) {
			return apierr.Invalid(name, "%s cannot be null because it always has a value; send a new value, or leave the field out to keep it", name)
		}
	}
	return nil
}

// Null reports whether the body set the member name to null.
func (p Patch) Null(name string) bool { return slices.Contains(p.Nulls, name) }

// nullMembers lists the top-level members of body that are null, and returns false when body
// is not a JSON object. The body has been decoded already, so it is valid JSON.
func nullMembers(body []byte) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var nulls []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		if name, _ := tok.(string); string(value) == "null" {
			nulls = append(nulls, name)
		}
	}
	return nulls, true
}
