import { Controller, Get, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { IdParam } from '../common/id.pipe';
import { ChunkResponseDto } from './task.dto';
import { TaskExceptionFilter } from './task-exception.filter';
import { TaskService } from './task.service';

@ApiTags('chunks')
@Controller('chunks')
@UseFilters(TaskExceptionFilter)
export class ChunkController {
  constructor(private readonly service: TaskService) {}

  @Get(':id')
  @ApiOperation({ summary: 'A chunk with its status in each task it belongs to' })
  @ApiOkResponse({ type: ChunkResponseDto })
  @ApiErrors(400, 404)
  get(@IdParam() id: number): Promise<ChunkResponseDto> {
    return this.service.getChunk(id);
  }
}
