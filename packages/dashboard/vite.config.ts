import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built to static files that `herald serve` serves under /portal/.
export default defineConfig({
  base: '/portal/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
});
