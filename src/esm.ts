/**
 * Loading the ES-module-only dependencies (hyparquet, d3-scale) from this CommonJS package.
 * A real dynamic import, created at run time, because TypeScript compiling to CommonJS would
 * turn `import()` into `require()`, which cannot load an ES module on every Node 20. The
 * specifier resolves from this package's files, as a static import would.
 */
export const importEsm = new Function('specifier', 'return import(specifier)') as <T>(specifier: string) => Promise<T>;
