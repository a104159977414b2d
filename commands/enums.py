from django.db import models


class EnumClass(models.TextChoices):
    PACKAGE_STATUS = "PackageStatus", "PackageStatus"
    TRANSFER_STATUS = "TransferStatus", "TransferStatus"


class UiVisibility(models.TextChoices):
    OMS_WEB = "oms_web", "OMS web"
    THIRD_PARTY = "third_party", "Third party"
    INSTORE = "instore", "Instore"


ALL_VISIBILITY = [v.value for v in UiVisibility]
