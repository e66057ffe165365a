import pytest

from core.learning.architectures import KERAS_MODELS, STUDY_PARAMETERS, build_dummy, build_model


@pytest.mark.parametrize("name", KERAS_MODELS)
def test_parameter_counts_match_the_study_at_its_input(name):
    model = build_model(name, (128, 1292, 1))
    assert model.count_params() == STUDY_PARAMETERS[name]
    assert model.output_shape == (None, 1)


@pytest.mark.parametrize("name", KERAS_MODELS)
@pytest.mark.parametrize("shape", [(64, 162, 1), (64, 323, 1), (40, 100, 1), (96, 431, 1)])
def test_models_build_at_other_resolutions(name, shape):
    model = build_model(name, shape)
    assert model.output_shape == (None, 1)
    assert model.count_params() > 0


def test_models_are_compiled_with_the_studys_loss_and_metrics():
    model = build_model("cnn2", (64, 162, 1))
    assert model.loss == "binary_crossentropy"
    assert model.optimizer.__class__.__name__ == "Adam"


def test_dummy_predicts_the_majority_class():
    dummy = build_dummy().fit([[0]] * 5, [1, 1, 1, 0, 0])
    assert list(dummy.predict([[0], [1]])) == [1, 1]
