/** A literal path as a regex pattern (for paths of other Ingresses on a regex host: `.` stays a dot). */
export function escapeRegex(path: string): string {
  return path.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
