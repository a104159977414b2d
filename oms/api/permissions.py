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


class ModelPermissions(permissions.DjangoModelPermissions):
    """Every method needs the model's permission, reading included (``view``)."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map,
                 "GET": ["%(app_label)s.view_%(model_name)s"],
                 "HEAD": ["%(app_label)s.view_%(model_name)s"]}


class CanRunCommands(permissions.BasePermission):
    """Running a command changes the object: it needs the model's ``change`` permission
    (read-only tokens are users without it). Which commands is decided by the channel."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        model = view.queryset.model
        return request.user.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")
