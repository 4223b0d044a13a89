"""Pod tasks: a KubernetesPodOperator wrapper driven by profiles and image files.

``PlatformPodOperator`` subclasses the cncf-kubernetes provider's ``KubernetesPodOperator``. A task names a
profile (``include/pod/profiles/<name>.yaml``: namespace, service account, cluster connection,
placement, resources, timeouts, clean-up, labels, deferrable) and a logical image
(``include/pod/images.yaml``); both are read and validated when the task runs. On the ``local``
target the same command runs as a local process from the checkout.

Cluster connection (profile ``cluster.mode``): ``connection`` (an Airflow Kubernetes connection,
the MWAA choice: its kubeconfig authenticates to EKS with ``aws eks get-token``, so tokens come
fresh from the worker's role and deferrable pods work), ``kubeconfig`` (a kubeconfig file) or
``in_cluster`` (Airflow running inside the cluster).

``PlatformPodOperator`` is imported lazily so that ``python -m data_platform.pod.images`` and the profile
helpers do not load the Kubernetes provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from data_platform.pod.operators import PlatformPodOperator

__all__ = ["PlatformPodOperator"]


def __getattr__(name: str) -> Any:
    if name == "PlatformPodOperator":
        from data_platform.pod.operators import PlatformPodOperator

        return PlatformPodOperator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
