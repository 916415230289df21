//! The index folder as tantivy sees it: an `MmapDirectory` whose locks become no-ops on a read-only filesystem,
//! where no process can write the index (so nothing can delete files under a reader) and a lock file cannot be
//! created. Everything else goes to the `MmapDirectory` unchanged.
use std::io;
use std::path::Path;
use std::sync::Arc;

use tantivy::directory::error::{DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, FileSlice, Lock, MmapDirectory, WatchCallback, WatchHandle, WritePtr,
};

/// An index folder that may sit on a read-only filesystem.
#[derive(Clone, Debug)]
pub struct IndexDir {
    inner: MmapDirectory,
}

impl IndexDir {
    pub fn open(dir: &Path) -> Result<IndexDir, OpenDirectoryError> {
        Ok(IndexDir { inner: MmapDirectory::open(dir)? })
    }
}

/// Whether `e` says the filesystem is mounted read-only (EROFS).
fn read_only_fs(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::ReadOnlyFilesystem
}

impl Directory for IndexDir {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }
    fn open_read(&self, path: &Path) -> Result<FileSlice, OpenReadError> {
        self.inner.open_read(path)
    }
    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }
    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }
    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.inner.open_write(path)
    }
    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }
    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.inner.atomic_write(path, data)
    }
    fn sync_directory(&self) -> io::Result<()> {
        self.inner.sync_directory()
    }
    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        match self.inner.acquire_lock(lock) {
            // Nobody can write here, so there is nothing to lock against; a writer's lock fails on its own
            // first write instead.
            Err(LockError::IoError(e)) if read_only_fs(&e) => Ok(DirectoryLock::from(Box::new(NoLock))),
            other => other,
        }
    }
    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

/// The lock held on a read-only filesystem: nothing.
struct NoLock;
