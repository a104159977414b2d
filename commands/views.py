from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import user_channel
from accounts.scoping import scope_queryset, user_scope
from commands.dispatcher import command_run
from commands.filters import StateTransitionLogFilter
from commands.models import State, StateTransitionLog, Transition
from commands.registry import registry
from commands.selectors import commands_for_states
from commands.serializers import (
    CommandRequestSerializer,
    StateSerializer,
    StateTransitionLogSerializer,
    TransitionSerializer,
)
from oms.api.permissions import CanRunCommands
from oms.api.viewsets import OmsModelViewSet, OmsReadOnlyModelViewSet
from oms.errors import DomainError

IDEMPOTENCY_HEADER = "Idempotency-Key"


class BadIdempotencyKey(DomainError):
    http_status = 400
    error_code = "commands_100_4"
    default_message = "Idempotency-Key must be at most 255 characters."


def plain_command_request(data) -> dict | None:
    """The most common command request — a slug, no transition id, no input — as
    ``CommandRequestSerializer`` would validate it, without building the serializer; None for
    anything else (the serializer then decides, errors included)."""
    if type(data) is not dict or not data.keys() <= {"slug", "transition", "input_parameters"}:
        return None
    slug = data.get("slug")
    if (type(slug) is not str or not 0 < len(slug) <= 255 or not slug.isascii() or "\x00" in slug
            or slug.strip() != slug
            or data.get("transition") is not None
            or ("input_parameters" in data and data["input_parameters"] != {})):
        return None
    return {"slug": slug, "transition": None, "input_parameters": {}}


class CommandViewMixin:
    """Adds ``commands`` to the detail response and ``POST {id}/command/`` to a viewset whose
    objects have a state (package, transfer). The viewset sets ``command_object_type``."""

    command_object_type: str
    store_write_actions = frozenset({"command"})

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        context = self.get_serializer_context()
        context["commands"] = commands_for_states([instance.state_id], user_channel(request.user))
        scope = user_scope(request.user)
        if scope.is_restricted:  # a transfer's receiving store is not offered the sender's commands
            context["commands"] = {state: [t for t in transitions if all(
                scope.allows(pk) for pk in registry.get(t.command).locations_needed(instance, {}))]
                for state, transitions in context["commands"].items()}
        return Response(self.get_serializer_class()(instance, context=context).data)

    @extend_schema(
        request=CommandRequestSerializer,
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, {"type": "string", "maxLength": 255},
                                     location=OpenApiParameter.HEADER, required=False,
                                     description="Replays the first response.")],
        responses={200: inline_serializer("CommandResponse", {
            "package_id": serializers.IntegerField(),
            "package_number": serializers.CharField(),
            "package_stock_location_id": serializers.IntegerField(),
            "package_stock_location_name": serializers.CharField(),
            "is_same_location": serializers.BooleanField()}), 204: None},
    )
    @action(detail=True, methods=["post"], url_path="command", permission_classes=[CanRunCommands])
    def command(self, request, pk=None):
        data = plain_command_request(request.data)
        if data is None:
            body = CommandRequestSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        key = request.headers.get(IDEMPOTENCY_HEADER) or None
        if key is not None and len(key) > 255:
            raise BadIdempotencyKey()
        outcome = command_run(
            object_type=self.command_object_type, object_id=pk,
            transition_id=data.get("transition"),
            slug=data.get("slug") or None,
            input_parameters=data.get("input_parameters") or {},
            actor=request.user, channel=user_channel(request.user),
            queryset=self.command_queryset(), idempotency_key=key)
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        result = outcome.result
        return Response(result.body, status=result.status_code, headers=headers)

    def command_queryset(self) -> QuerySet:
        """The objects this caller may act on (instore users: their locations)."""
        return scope_queryset(self.queryset.model._default_manager.all(), self.request.user)


class StateViewSet(OmsModelViewSet):
    queryset = State.objects.all()
    serializer_class = StateSerializer
    filterset_fields = ["enum_class", "enum_value", "is_active", "slug"]
    search_fields = ["name", "slug"]


class TransitionViewSet(OmsModelViewSet):
    queryset = Transition.objects.all()
    serializer_class = TransitionSerializer
    filterset_fields = ["command", "source_state", "destination_state", "is_active", "slug"]


class StateTransitionLogViewSet(OmsReadOnlyModelViewSet):
    queryset = StateTransitionLog.objects.select_related("content_type")
    serializer_class = StateTransitionLogSerializer
    filterset_class = StateTransitionLogFilter
