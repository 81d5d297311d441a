package api

import (
	"sync"

	"github.com/gofiber/fiber/v2"

	spec "github.com/setora/rest/api"
)

// openAPIJSON converts the embedded document once, on first request.
var openAPIJSON = sync.OnceValues(spec.JSON)

// MountPublic adds the routes that need no key. It must run before the authenticated /v1 group
// is added, because Fiber matches routes and group middleware in the order they were added.
func MountPublic(app *fiber.App) {
	app.Get("/v1/openapi.json", func(c *fiber.Ctx) error {
		body, err := openAPIJSON()
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		return c.Send(body)
	})
}
