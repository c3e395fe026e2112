/** The part of jsfive (pure-JS HDF5 reader, no bundled types) that the Keras importer uses. */
declare module 'jsfive' {
  export class Dataset {
    readonly value: ArrayLike<number> | ArrayLike<string>;
    readonly shape: number[];
    readonly dtype: string | object;
    readonly attrs: Record<string, unknown>;
  }
  export class Group {
    readonly keys: string[];
    readonly attrs: Record<string, unknown>;
    get(path: string): Group | Dataset | undefined;
  }
  export class File extends Group {
    constructor(buffer: ArrayBuffer, filename?: string);
  }
}
