"""Errors of the label readers: what a command shows as one line, without a traceback."""


class LabelError(ValueError):
    """Labels FaceTrack cannot read (a malformed line, an undecodable image); the message says where."""


class UnreadableFolder(LabelError):
    """A folder without labelled faces FaceTrack can read; the message says what it looked for."""
