// Builds the web UI into ui/dist, which the node's UI server serves (ui-server/server.ts
// BUILT_UI_DIR). Everything is bundled: the UI must work on an offline machine, so no CDN or
// external fonts.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // One small app (~100 kB gzipped): no splitting, no sourcemaps shipped with the node.
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
});
