package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// bookingLike has the nesting of the booking request: an object, an array of objects, an array
// of strings and a map.
type bookingLike struct {
	Name   string `json:"name"`
	Client *struct {
		Name  string `json:"name"`
		Phone string `json:"phone"`
	} `json:"client"`
	Services []struct {
		ID    string `json:"id"`
		Extra struct {
			Minutes int `json:"minutes"`
		} `json:"extra"`
	} `json:"services"`
	ServiceIDs []string          `json:"service_ids"`
	Labels     map[string]string `json:"labels"`
	Raw        json.RawMessage   `json:"raw"`
	embeddedLike
}

type embeddedLike struct {
	Source string `json:"source"`
}

type apiError struct {
	status int
	code   string
	param  string
	msg    string
}

// send posts body with contentType to a route that decodes it with decode.
func send(t *testing.T, method, contentType, body string, decode func(*fiber.Ctx) error) apiError {
	t.Helper()
	app := NewApp("test", slog.New(slog.DiscardHandler))
	app.Add(method, "/decode", func(c *fiber.Ctx) error {
		if err := decode(c); err != nil {
			return err
		}
		return c.SendStatus(http.StatusNoContent)
	})

	req, err := http.NewRequest(method, "/decode", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	var got struct {
		Error struct {
			Code    string `json:"code"`
			Param   string `json:"param"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatalf("error body: %v", err)
		}
	}
	return apiError{status: resp.StatusCode, code: got.Error.Code, param: got.Error.Param, msg: got.Error.Message}
}

func decodeBooking(c *fiber.Ctx) error {
	var dst bookingLike
	return DecodeJSON(c, &dst)
}

func TestDecodeJSONNamesFullPath(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		code  string
		param string
	}{
		{name: "top-level unknown", body: `{"nmae": "x"}`, code: "unknown_field", param: "nmae"},
		{name: "unknown in object", body: `{"client": {"name": "A", "mobile": "07700 900123"}}`,
			code: "unknown_field", param: "client.mobile"},
		{name: "unknown in second element", body: `{"services": [{"id": "a"}, {"id": "b", "price": 3}]}`,
			code: "unknown_field", param: "services[1].price"},
		{name: "unknown two levels down", body: `{"services": [{"extra": {"minutes": 5, "hours": 1}}]}`,
			code: "unknown_field", param: "services[0].extra.hours"},
		// "id" is known inside services, so the unknown "id" is the one inside client.
		{name: "same name known elsewhere", body: `{"services": [{"id": "a"}], "client": {"id": "b"}}`,
			code: "unknown_field", param: "client.id"},
		{name: "case-insensitive match is known", body: `{"Client": {"Phone": "1", "fax": "2"}}`,
			code: "unknown_field", param: "Client.fax"},
		{name: "embedded field is known", body: `{"source": "kiosk", "sauce": "x"}`,
			code: "unknown_field", param: "sauce"},
		{name: "members of raw values are not checked", body: `{"raw": {"anything": 1}, "bad": 1}`,
			code: "unknown_field", param: "bad"},
		{name: "number for string in object", body: `{"client": {"phone": 7700900123}}`,
			code: "invalid_parameter", param: "client.phone"},
		{name: "number for string in array", body: `{"service_ids": ["a", "b", 3]}`,
			code: "invalid_parameter", param: "service_ids[2]"},
		{name: "wrong type in second element", body: `{"services": [{"id": "a"}, {"id": 5}]}`,
			code: "invalid_parameter", param: "services[1].id"},
		{name: "wrong type deep", body: `{"services": [{"id": "a"}, {"extra": {"minutes": "five"}}]}`,
			code: "invalid_parameter", param: "services[1].extra.minutes"},
		{name: "fraction for whole number", body: `{"services": [{"extra": {"minutes": 1.5}}]}`,
			code: "invalid_parameter", param: "services[0].extra.minutes"},
		{name: "object for string", body: `{"client": {"name": {"first": "A"}}}`,
			code: "invalid_parameter", param: "client.name"},
		{name: "map value", body: `{"labels": {"colour": true}}`,
			code: "invalid_parameter", param: "labels.colour"},
		{name: "string for array", body: `{"services": "a"}`,
			code: "invalid_parameter", param: "services"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := send(t, http.MethodPost, "application/json", tc.body, decodeBooking)
			if got.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", got.status)
			}
			if got.code != tc.code {
				t.Errorf("code = %q, want %q", got.code, tc.code)
			}
			if got.param != tc.param {
				t.Errorf("param = %q, want %q", got.param, tc.param)
			}
			if !strings.Contains(got.msg, `"`+tc.param+`"`) {
				t.Errorf("message %q does not name %q", got.msg, tc.param)
			}
		})
	}
}

// The first problem in the body is reported, whichever kind it is.
func TestDecodeJSONReportsFirstProblem(t *testing.T) {
	got := send(t, http.MethodPost, "application/json",
		`{"services": [{"id": 1}], "client": {"fax": "x"}}`, decodeBooking)
	if got.param != "services[0].id" {
		t.Errorf("param = %q, want services[0].id", got.param)
	}
}

type patchLike struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Active      *bool   `json:"active"`
}

func decodePatchLike(clearable ...string) func(*fiber.Ctx) error {
	return func(c *fiber.Ctx) error {
		var dst patchLike
		patch, err := DecodePatch(c, &dst)
		if err != nil {
			return err
		}
		return patch.RejectNulls(clearable...)
	}
}

func TestDecodePatchMediaTypes(t *testing.T) {
	for _, ct := range []string{"application/merge-patch+json", "application/json",
		"Application/Merge-Patch+JSON; charset=utf-8"} {
		got := send(t, http.MethodPatch, ct, `{"name": "Sam"}`, decodePatchLike())
		if got.status != http.StatusNoContent {
			t.Errorf("%s: status = %d (%s), want 204", ct, got.status, got.msg)
		}
	}
	got := send(t, http.MethodPatch, "application/json-patch+json", `[{"op": "remove", "path": "/name"}]`, decodePatchLike())
	if got.status != http.StatusUnsupportedMediaType || got.code != "unsupported_media_type" {
		t.Errorf("JSON Patch: status %d, code %q; want 415 unsupported_media_type", got.status, got.code)
	}
	if !strings.Contains(got.msg, "application/merge-patch+json") {
		t.Errorf("415 message %q does not name application/merge-patch+json", got.msg)
	}
}

func TestDecodePatchNulls(t *testing.T) {
	for _, ct := range []string{"application/merge-patch+json", "application/json"} {
		got := send(t, http.MethodPatch, ct, `{"description": null}`, decodePatchLike("description"))
		if got.status != http.StatusNoContent {
			t.Errorf("%s: clearable null: status = %d (%s), want 204", ct, got.status, got.msg)
		}
		got = send(t, http.MethodPatch, ct, `{"description": null, "name": null}`, decodePatchLike("description"))
		if got.status != http.StatusBadRequest || got.code != "invalid_parameter" || got.param != "name" {
			t.Errorf("%s: required null: status %d, code %q, param %q; want 400 invalid_parameter name",
				ct, got.status, got.code, got.param)
		}
	}
}

func TestDecodePatchRejectsNonObject(t *testing.T) {
	for _, body := range []string{`null`, `["name"]`, `"Sam"`} {
		got := send(t, http.MethodPatch, "application/merge-patch+json", body, decodePatchLike())
		if got.status != http.StatusBadRequest || got.code != "malformed_json" {
			t.Errorf("%s: status %d, code %q; want 400 malformed_json", body, got.status, got.code)
		}
	}
}

func TestDecodePatchUnknownField(t *testing.T) {
	got := send(t, http.MethodPatch, "application/merge-patch+json", `{"nmae": null}`, decodePatchLike())
	if got.code != "unknown_field" || got.param != "nmae" {
		t.Errorf("code %q, param %q; want unknown_field nmae", got.code, got.param)
	}
}

func TestNullMembersInOrder(t *testing.T) {
	nulls, ok := nullMembers([]byte(`{"b": null, "a": 1, "c": null, "d": {"e": null}}`))
	if !ok {
		t.Fatal("an object was not read as one")
	}
	if strings.Join(nulls, ",") != "b,c" {
		t.Errorf("nulls = %v, want [b c]", nulls)
	}
}
