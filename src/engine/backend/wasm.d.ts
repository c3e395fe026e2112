// `import bytes from './x.wasm'`: an AssemblyScript file x.ts compiled and embedded by esbuild.mjs.
declare module '*.wasm' {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
