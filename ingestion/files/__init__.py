"""User files (XLSX, `;`/tab text in UTF-8 or windows-1251): readers, column mapping, validation."""
