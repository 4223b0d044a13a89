"""The lake: file helpers over ``ObjectStoragePath`` (``file://`` locally, ``s3://`` on aws).

- ``storage``: list / read / write / copy / move files by URI.
- ``markers``: which files a consumer has processed (``<lake_root>/_processed/<consumer>/...``).
- ``admission``: check new files and move them to ``accepted/`` or ``rejected/``.
- ``operators.AdmitLakeFilesOperator``: the admission step as an Airflow operator.
- ``sensors.NewLakeFilesSensor``: files under a prefix without a processed marker;
  ``sensors.LakeFileSetCompleteSensor``: a file set reached its expected count;
  ``triggers.LakeFilesTrigger``: the deferrable (triggerer) side of both on S3.
- ``lineage``: OpenLineage dataset names for lake files.

Nothing here reads the target at import time: URIs come from ``get_settings().lake_uri(...)``.
"""
