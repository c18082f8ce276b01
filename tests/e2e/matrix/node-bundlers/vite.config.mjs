// An SSR build of server.mjs with every dependency bundled in (Vite keeps node_modules
// external by default, which would not test the bundling).
export default {
  build: { ssr: "server.mjs", emptyOutDir: true, minify: false },
  ssr: { noExternal: true, target: "node" },
};
