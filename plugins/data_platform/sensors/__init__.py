"""Sensors on the lake: new (unprocessed) files and complete file sets, local or S3 at run time.

- ``lake_files.NewLakeFilesSensor``: files under a prefix without a processed marker.
- ``lake_files.LakeFileSetCompleteSensor``: a file set reached its expected count.
- ``triggers.LakeFilesTrigger``: the deferrable (triggerer) side of both on S3.
"""
