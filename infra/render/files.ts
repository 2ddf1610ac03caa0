/** Rendered files: path relative to a root (a host's config dir, or the loopback stack's state dir) -> content. */
export type Files = Readonly<Record<string, string>>;

/** Prefix every path of `files` with `dir/`. */
export function under(dir: string, files: Files): Files {
  return Object.fromEntries(Object.entries(files).map(([path, content]) => [`${dir}/${path}`, content]));
}
