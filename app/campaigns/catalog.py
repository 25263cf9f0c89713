"""The preset catalog as the API (`/api/v1/presets`) and the panel's gallery show it: every
preset of presets.PRESETS, read as it stands (a preset added there shows here by itself), with
its trigger, settings and its steps' delays and default texts."""

from pydantic import BaseModel, Field

from app.campaigns.presets import PRESETS, Preset
from app.campaigns.schemas import Conditions, Exits
from app.errors import NotFound
from app.messaging.render import default_template


class PresetStep(BaseModel):
    position: int
    delay_minutes: int = Field(description="minutes after the trigger fires")
    template: str = Field(description="the step's text as the campaign starts with it (Jinja, "
                                      "README «Message templates»)")


class PresetOut(BaseModel):
    kind: str = Field(examples=["abandoned_cart"])
    name: str = Field(description="the name the campaign gets (Persian)")
    trigger: str = Field(examples=["cart_abandoned"], description="what starts its sequence")
    trigger_minutes: int
    trigger_params: dict
    promotional: bool = Field(description="obeys the frequency cap and carries the opt-out line")
    default: bool = Field(description="every new store starts with it")
    conditions: Conditions
    exits: Exits
    steps: list[PresetStep]


class PresetList(BaseModel):
    items: list[PresetOut]


class PresetNotFound(NotFound, code="preset_not_found"):
    pass


def preset_of(kind: str) -> Preset:
    preset = PRESETS.get(kind)
    if preset is None:
        raise PresetNotFound(f"no preset {kind!r}; GET /api/v1/presets lists them")
    return preset


def entry(preset: Preset) -> PresetOut:
    return PresetOut(
        kind=preset.kind, name=preset.name, trigger=preset.trigger,
        trigger_minutes=preset.trigger_minutes, trigger_params=dict(preset.trigger_params),
        promotional=preset.promotional, default=preset.default,
        conditions=Conditions.model_validate(preset.conditions),
        exits=Exits.model_validate(preset.exits),
        # The texts add_preset writes out (app/campaigns/presets.py), from the same files.
        steps=[PresetStep(position=position, delay_minutes=delay,
                          template=default_template(f"{preset.kind}_{position}"))
               for position, delay in enumerate(preset.delays, start=1)])


def catalog() -> list[PresetOut]:
    return [entry(preset) for preset in PRESETS.values()]
