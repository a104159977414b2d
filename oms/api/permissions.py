from rest_framework import permissions


class ModelPermissionsOrReadOnly(permissions.DjangoModelPermissions):
    """Any authenticated user reads; writes need the model's add/change/delete permission
    (configuration endpoints). Read-only tokens are simply users without those permissions."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return super().has_permission(request, view)
