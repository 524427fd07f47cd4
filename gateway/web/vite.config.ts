import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The console is served by the gateway at `/`, same origin as `/api/v1`.
// Everything it needs is bundled: no CDN, so it works air-gapped.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2022',
    // No data: URIs: every asset is a hashed file under /assets, which the
    // Content-Security-Policy ('self') allows and the gateway caches as immutable.
    assetsInlineLimit: 0,
    // Monaco is big by nature; it lives in a lazy chunk (see CodeEditor.tsx).
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
    // The worker build dominates; a timing report on every build is noise.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  worker: { format: 'es' },
  server: {
    // `npm run dev` against a local `flowpilot up`.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
})
