"""Personal data in and out: markdown and text files, Obsidian vaults, chat transcripts.

:mod:`~memkit.sources.documents` and :mod:`~memkit.sources.chats` read files into units of pieces
(the notes to be); :mod:`~memkit.sources.ingester` writes them to a memory once, superseding what a
changed file had written, and links notes the way the files link each other; :mod:`~memkit.sources.watch`
keeps a folder ingested; :mod:`~memkit.sources.obsidian` writes a memory out as an Obsidian vault.
Files are only ever read.
"""
