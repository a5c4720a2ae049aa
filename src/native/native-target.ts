/**
 * What a build embeds: the native files of one platform, laid out as their own packages expect,
 * and data files that must exist as real files at run time.
 */
export type AddonName = "ort" | "sharp";

export interface NativeTarget {
  /** Platform name (`linux-x64`, …); names the extraction folder. */
  readonly name: string;
  /**
   * Path inside the extraction folder → embedded file (`/$bunfs/root/<name>-<hash>.<ext>`). The
   * layout reproduces the packages' relative paths, so each addon's RUNPATH/RPATH/@loader_path
   * finds its shared library unchanged. Empty when running from source.
   */
  readonly files: Readonly<Record<string, string>>;
  /**
   * Data files that must be real files at run time (same layout rule), extracted on first use by
   * `embeddedPath` rather than at start-up. Empty when running from source.
   */
  readonly data: Readonly<Record<string, string>>;
  /** Which entry of `files` each addon is. */
  readonly addons: Readonly<Partial<Record<AddonName, string>>>;
}
