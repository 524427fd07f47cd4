// Copies Swagger UI from the swagger-ui-dist package into the bundle
// (dist/swagger-ui/), where the gateway serves it for /docs: the API
// documentation loads nothing from another host, so it works air-gapped.
import { copyFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const source = dirname(require.resolve('swagger-ui-dist/package.json'))
const target = fileURLToPath(new URL('../dist/swagger-ui/', import.meta.url))
mkdirSync(target, { recursive: true })
for (const name of ['swagger-ui-bundle.js', 'swagger-ui.css', 'LICENSE', 'NOTICE']) {
  copyFileSync(join(source, name), join(target, name))
}
