/** esbuild bundles `.py` files as text (esbuild.mjs `loader`): the Python helper ships inside dist/extension.js. */
declare module '*.py' {
  const source: string;
  export default source;
}
