export {
  type FolderLoad,
  ManifestFolder,
  type ManifestFolderOptions,
} from './folder-source.ts';
export {
  isManifestFile,
  type ManifestObject,
  type ManifestProblem,
  type ParsedFile,
  parseManifestText,
} from './parse.ts';
export { type ManifestView, toClusterView } from './view.ts';
