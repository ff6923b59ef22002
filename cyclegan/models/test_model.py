"""TestModel (`--model test`): one generator, one direction, e.g. an official pretrained style_vangogh."""
from .base_model import BaseModel
from .generators import define_G


class TestModel(BaseModel):
    @staticmethod
    def modify_commandline_options(parser, is_train=False):
        if is_train:
            raise ValueError("--model test is for testing only; train with --model cycle_gan")
        parser.add_argument("--model_suffix", type=str, default="",
                            help="load {epoch}_net_G{suffix}.pth, e.g. _A for the A->B generator of a CycleGAN run")
        return parser

    def __init__(self, opt):
        super().__init__(opt)
        self.loss_names = []
        self.visual_names = ["real", "fake"]
        self.model_names = ["G" + opt.model_suffix]
        net = define_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.norm, not opt.no_dropout,
                       opt.init_type, opt.init_gain).to(self.device)
        setattr(self, "netG" + opt.model_suffix, net)

    def set_input(self, data):
        self.real = data["A"].to(self.device, memory_format=self.memory_format, non_blocking=True)
        self.image_paths = data["A_paths"]

    def forward(self):
        self.fake = getattr(self, "netG" + self.opt.model_suffix)(self.real)

    def optimize_parameters(self):
        raise RuntimeError("TestModel cannot be trained")
