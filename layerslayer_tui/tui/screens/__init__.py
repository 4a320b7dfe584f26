"""Modal screens: pickers, dialogs, the file viewer and reports."""
