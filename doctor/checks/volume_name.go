package checks

// FilesystemName names the filesystem the folder dir is on ("ext4", "NFS", "overlay",
// "filesystem 0x1234"), as sqlite.filesystem reads it: for doctor --report.
func FilesystemName(dir string) (string, error) {
	v, err := osFiles{}.Volume(dir)
	return v.Name, err
}
