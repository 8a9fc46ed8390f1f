import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The API (`npm start`) that `vite` and `vite preview` forward /api to while developing.
const api = { target: process.env.API_URL ?? 'http://localhost:3000', changeOrigin: true };

export default defineConfig({
  root: import.meta.dirname,
  // The API serves the built console at /admin.
  base: '/admin/',
  // @vitejs/plugin-react is not installed (peer conflict with Vite 8): Vite's own oxc transform compiles JSX.
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: resolve(import.meta.dirname, '../dist/admin'),
    emptyOutDir: true,
    // react-admin and Material UI make one large vendor bundle; it is served once and cached.
    chunkSizeWarningLimit: 2500,
    rolldownOptions: {
      // Material UI marks its modules "use client" (for React Server Components); a browser bundle has no use for it.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: { proxy: { '/api': api } },
  preview: { proxy: { '/api': api } },
});
