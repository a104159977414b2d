import django_filters

from commands.models import StateTransitionLog
from oms.api.filters import FilterSet


class StateTransitionLogFilter(FilterSet):
    content_type = django_filters.CharFilter(field_name="content_type__model", max_length=100,
                                             help_text="Model name: package or transferorder.")
    created_date__gte = django_filters.IsoDateTimeFilter(field_name="created_date", lookup_expr="gte")
    created_date__lte = django_filters.IsoDateTimeFilter(field_name="created_date", lookup_expr="lte")

    class Meta:
        model = StateTransitionLog
        fields = ["object_id", "content_type", "old_state", "new_state", "user"]
