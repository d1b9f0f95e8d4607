/**
 * Loading the ES-module-only dependencies (hyparquet, d3-scale) from this CommonJS package.
 * A real dynamic import, created at run time, because TypeScript compiling to CommonJS would
 * turn `import()` into `require()`, which cannot load an ES module on every Node 20. The
 * specifier resolves from this package's files, as a static import would.
 *
 * Inside a vm context without an import hook (test runners that evaluate modules with vm),
 * that import is refused (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING); there `require` is the way
 * in, and Node 20.19+ loads ES modules with it.
 */
const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

export async function importEsm<T>(specifier: string): Promise<T> {
  try {
    return (await dynamicImport(specifier)) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING') throw error;
    return require(specifier) as T;
  }
}
